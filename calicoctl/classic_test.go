package calicoctl

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/classic"
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestClassicShowGolden(t *testing.T) {
	e := operatorEnv(t)
	e.mustRun(t, "", "pool", "add", "fd00:10::/64")
	e.mustRun(t, "", "bgppeer", "add", "192.168.1.1", "as", "64511")
	e.mustRun(t, "", "bgppeer", "rr", "add", "192.168.1.254")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"pool_show_table", []string{"pool", "show"}},
		{"pool_show_wide", []string{"pool", "show", "-o", "wide"}},
		{"pool_show_ipv6_yaml", []string{"pool", "show", "--ipv6", "-o", "yaml"}},
		{"profile_show_table", []string{"profile", "show"}},
		{"profile_show_detailed", []string{"profile", "show", "--detailed"}},
		{"profile_show_json", []string{"profile", "show", "-o", "json"}},
		{"endpoint_show_table", []string{"endpoint", "show"}},
		{"endpoint_show_detailed", []string{"endpoint", "show", "--detailed"}},
		{"endpoint_show_host2_yaml", []string{"endpoint", "show", "--host", "host2", "-o", "yaml"}},
		{"bgppeer_show_table", []string{"bgppeer", "show"}},
		{"bgppeer_show_yaml", []string{"bgppeer", "show", "-o", "yaml"}},
		{"status_table", []string{"status", "--status-socket", noDaemonSocket}},
		{"status_json", []string{"status", "-o", "json", "--status-socket", noDaemonSocket}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.runCode(t, cli.ExitOK, "", tc.args...)
			if r.stderr != "" {
				t.Errorf("stderr: %s", r.stderr)
			}
			checkGolden(t, tc.name, e.normalizeEtcd(r.stdout))
		})
	}
	// --detailed is -o wide.
	if a, b := e.mustRun(t, "", "endpoint", "show", "--detailed"), e.mustRun(t, "", "endpoint", "show", "-o", "wide"); a.stdout != b.stdout {
		t.Errorf("--detailed differs from -o wide:\n%s\n%s", a.stdout, b.stdout)
	}
}

func TestPoolAddRemove(t *testing.T) {
	e := operatorEnv(t)
	r := e.mustRun(t, "", "pool", "add", "10.1.0.0/16", "--nat-outgoing", "--ipip")
	if !strings.Contains(r.stdout, "Created pool pool-10-1-0-0-16 (10.1.0.0/16)") {
		t.Errorf("add: %v", r)
	}
	p := getPool(t, e, "pool-10-1-0-0-16")
	if !p.Spec.NATOutgoing || p.Spec.IPIPMode != resources.EncapAlways {
		t.Errorf("pool spec %+v", p.Spec)
	}
	// Again without flags: the same pool, options as given now (as v0).
	r = e.mustRun(t, "", "pool", "add", "10.1.7.0/16")
	if !strings.Contains(r.stdout, "Updated pool pool-10-1-0-0-16") || !strings.Contains(r.stderr, "using 10.1.0.0/16") {
		t.Errorf("re-add: %v", r)
	}
	if p := getPool(t, e, "pool-10-1-0-0-16"); p.Spec.NATOutgoing || p.Spec.IPIPMode != resources.EncapNever {
		t.Errorf("re-add spec %+v", p.Spec)
	}
	// Removal refused while addresses are allocated, --force too, saying
	// what to do; once released, the pool goes with its empty block.
	e.allocate(t, "host1", "10.1.0.9", "test-holder", nil)
	before := e.snapshot(t)
	r = e.runCode(t, cli.ExitFailure, "", "pool", "remove", "10.1.0.0/16")
	if !strings.Contains(r.stderr, "1 allocated address(es)") || !strings.Contains(r.stderr, "disable it first") {
		t.Errorf("remove with allocations: %v", r)
	}
	e.assertUnchanged(t, before)
	r = e.runCode(t, cli.ExitFailure, "", "pool", "remove", "10.1.0.0/16", "--force")
	if !strings.Contains(r.stderr, "--force no longer removes a pool in use") {
		t.Errorf("remove --force: %v", r)
	}
	e.assertUnchanged(t, before)
	if _, err := cli.NewAllocator(datastore.New(e.cli)).ReleaseIPs(context.Background(), netip.MustParseAddr("10.1.0.9")); err != nil {
		t.Fatal(err)
	}
	r = e.mustRun(t, "", "pool", "remove", "10.1.0.0/16")
	if !strings.Contains(r.stdout, "Removed pool pool-10-1-0-0-16") {
		t.Errorf("remove: %v", r)
	}
	if r := e.mustRun(t, "", "ipam", "show", "--show-blocks"); strings.Contains(r.stdout, "10.1.0.0/26") {
		t.Errorf("the removed pool's empty block stayed:\n%s", r.stdout)
	}
	// Found by CIDR whatever its name; in use, so refused.
	r = e.runCode(t, cli.ExitFailure, "", "pool", "remove", "10.0.0.0/16")
	if !strings.Contains(r.stderr, "default-ipv4-ippool") {
		t.Errorf("remove by CIDR: %v", r)
	}
}

func getPool(t *testing.T, e *etcdEnv, name string) *resources.IPPool {
	t.Helper()
	p, err := datastore.GetAs[*resources.IPPool](context.Background(), datastore.New(e.cli), "", name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMemberAdd(t *testing.T) {
	e := operatorEnv(t)
	r := e.mustRun(t, "", "profile", "PROF_GROUP1", "member", "add", "bookstore-frontend")
	if r.stdout != "Created profile PROF_GROUP1\nAdded bookstore-frontend to PROF_GROUP1\n" {
		t.Errorf("member add: %v", r)
	}
	// By container ID prefix, with the cobra-native form.
	e.mustRun(t, "", "profile", "member", "add", "PROF_GROUP1", "64a1389b")
	r = e.mustRun(t, "", "profile", "PROF_GROUP1", "member", "add", "/bookstore-frontend")
	if !strings.Contains(r.stdout, "already a member") {
		t.Errorf("second add: %v", r)
	}
	ctx := context.Background()
	st := datastore.New(e.cli)
	w, err := datastore.GetAs[*resources.WorkloadEndpoint](ctx, st, "default", "host1-libnetwork-libnetwork-b2b2b2b2b2b2")
	if err != nil || !slices.Equal(w.Spec.Profiles, []string{"calico", "PROF_GROUP1"}) {
		t.Errorf("server profiles %v (%v)", w.Spec.Profiles, err)
	}
	p, err := datastore.GetAs[*resources.Profile](ctx, st, "", "PROF_GROUP1")
	if err != nil {
		t.Fatal(err)
	}
	want := classic.DefaultProfile("PROF_GROUP1")
	if p.Spec.LabelsToApply["PROF_GROUP1"] != "" || len(p.Spec.LabelsToApply) != 1 || len(p.Spec.Ingress) != 1 ||
		p.Spec.Ingress[0].Source.Selector != want.Spec.Ingress[0].Source.Selector {
		t.Errorf("created profile %+v", p.Spec)
	}
	// The two members now reach each other through the profile's tag.
	e.runCode(t, cli.ExitOK, "", "policy", "explain", "--from", "bookstore-server", "--to", "bookstore-frontend", "--port", "9")
}

func TestClassicErrorsChangeNothing(t *testing.T) {
	e := operatorEnv(t)
	e.mustRun(t, "", "profile", "add", "WEB")
	before := e.snapshot(t)
	tests := []struct {
		name, stdin string
		args        []string
		wantErr     string
	}{
		{"member add unknown container", "", []string{"profile", "NEWPROF", "member", "add", "nope"}, `no container or endpoint "nope"`},
		{"member add bad profile name", "", []string{"profile", "member", "add", "_bad_", "bookstore-server"}, "profile name"},
		{"rule update bad json", "{", []string{"profile", "WEB", "rule", "update"}, "not valid"},
		{"rule update unknown key", `{"id":"WEB","inbound_rules":[{"action":"allow","src_tags":"A"}],"outbound_rules":[]}`,
			[]string{"profile", "WEB", "rule", "update"}, `unknown field "src_tags"`},
		{"rule update bad action", `{"id":"WEB","inbound_rules":[{"action":"permit"}],"outbound_rules":[]}`,
			[]string{"profile", "WEB", "rule", "update"}, `inbound_rules[0].action "permit"`},
		{"rule update ports without protocol", `{"id":"WEB","inbound_rules":[],"outbound_rules":[{"action":"allow","dst_ports":[80]}]}`,
			[]string{"profile", "WEB", "rule", "update"}, "outbound_rules[0].dst_ports needs"},
		{"rule update bad net", `{"id":"WEB","inbound_rules":[{"action":"deny","src_net":"10.0.0/8"}],"outbound_rules":[]}`,
			[]string{"profile", "WEB", "rule", "update"}, "src_net"},
		{"rule update id mismatch", `{"id":"OTHER","inbound_rules":[],"outbound_rules":[]}`,
			[]string{"profile", "WEB", "rule", "update"}, `for profile "OTHER"`},
		{"rule update missing profile", `{"inbound_rules":[],"outbound_rules":[]}`,
			[]string{"profile", "NOPE", "rule", "update"}, "profile NOPE does not exist"},
		{"rule update empty", "", []string{"profile", "WEB", "rule", "update"}, "no rules on stdin"},
		{"pool add bad cidr", "", []string{"pool", "add", "10.0.0.300/8"}, "not a CIDR"},
		{"pool add overlap", "", []string{"pool", "add", "10.0.128.0/17"}, "overlaps pool default-ipv4-ippool"},
		{"pool remove unknown", "", []string{"pool", "remove", "10.9.0.0/16"}, "no IP pool has CIDR 10.9.0.0/16"},
		{"bgppeer bad ip", "", []string{"bgppeer", "add", "1.2.3", "as", "64511"}, "not an IP address"},
		{"bgppeer bad as", "", []string{"bgppeer", "add", "1.2.3.4", "as", "0"}, "AS number"},
		{"bgppeer missing as word", "", []string{"bgppeer", "add", "1.2.3.4", "AS", "64511"}, `"as"`},
		{"bgppeer remove unknown", "", []string{"bgppeer", "remove", "1.2.3.4"}, "no global BGP peer"},
		{"profile remove in use", "", []string{"profile", "remove", "calico"}, "used by 3 endpoint(s)"},
		{"profile unknown verb", "", []string{"profile", "WEB", "label", "show"}, "unknown profile command"},
		{"tag unknown verb", "", []string{"profile", "WEB", "tag", "show"}, `unknown command "show"`},
		{"tag remove missing", "", []string{"profile", "WEB", "tag", "remove", "NOPE"}, "has no tag NOPE"},
		{"tag bad", "", []string{"profile", "WEB", "tag", "add", "a b"}, "tag"},
		{"rule add no direction", "", []string{"profile", "WEB", "rule", "add", "sideways", "allow"}, "inbound or outbound"},
		{"rule add bad action", "", []string{"profile", "WEB", "rule", "add", "inbound", "permit"}, `action "permit"`},
		{"rule add ports without proto", "", []string{"profile", "WEB", "rule", "add", "inbound", "allow", "to", "ports", "80"}, "needs"},
		{"rule add bad cidr", "", []string{"profile", "WEB", "rule", "add", "inbound", "deny", "from", "cidr", "10.0.0/8"}, "not a CIDR"},
		{"rule add bad word", "", []string{"profile", "WEB", "rule", "add", "inbound", "allow", "tcp", "to", "port", "80"}, `unknown word "port"`},
		{"rule add bad position", "", []string{"profile", "WEB", "rule", "add", "inbound", "--at", "9", "allow"}, "--at 9"},
		{"rule add missing profile", "", []string{"profile", "NOPE", "rule", "add", "inbound", "allow"}, "profile NOPE does not exist"},
		{"rule remove no match", "", []string{"profile", "WEB", "rule", "remove", "inbound", "deny", "tcp"}, "no inbound rule of profile WEB"},
		{"rule remove bad position", "", []string{"profile", "WEB", "rule", "remove", "outbound", "--at", "5"}, "--at 5"},
		{"rule remove both", "", []string{"profile", "WEB", "rule", "remove", "outbound", "--at", "1", "allow"}, "either --at"},
		{"rr add bad as", "", []string{"bgppeer", "rr", "add", "1.2.3.4", "as", "x"}, "AS number"},
		{"rr add missing as word", "", []string{"bgppeer", "rr", "add", "1.2.3.4", "asn", "64512"}, `"as"`},
		{"endpoint show unknown workload", "", []string{"endpoint", "show", "--workload", "nope"}, "no container"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(t, tc.stdin, tc.args...)
			if r.code != cli.ExitFailure || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("want exit 1 with %q, got %v", tc.wantErr, r)
			}
		})
	}
	e.assertUnchanged(t, before)
}

func TestBGPPeerClassic(t *testing.T) {
	e := operatorEnv(t)
	e.mustRun(t, "", "bgppeer", "add", "192.168.1.1", "as", "1.10")
	r := e.mustRun(t, "", "bgppeer", "show", "-o", "json")
	if !strings.Contains(r.stdout, `"asNumber": 65546`) {
		t.Errorf("dotted AS: %s", r.stdout)
	}
	// The route reflector takes the cluster AS from BGPConfiguration default.
	e.mustRun(t, `{"apiVersion":"projectcalico.org/v3","kind":"BGPConfiguration","metadata":{"name":"default"},"spec":{"asNumber":64511}}`, "apply", "-f", "-")
	r = e.mustRun(t, "", "bgppeer", "rr", "add", "192.168.1.1")
	if !strings.Contains(r.stdout, "Updated route-reflector peer bgppeer-192-168-1-1 (192.168.1.1, AS 64511)") {
		t.Errorf("rr add over a peer: %v", r)
	}
	e.mustRun(t, "", "bgppeer", "add", "fd00::1", "as", "64600")
	if r := e.mustRun(t, "", "bgppeer", "show", "--ipv4"); !strings.Contains(r.stdout, "192.168.1.1") || strings.Contains(r.stdout, "fd00::1") {
		t.Errorf("show --ipv4: %s", r.stdout)
	}
	if r := e.mustRun(t, "", "bgppeer", "show", "--ipv6"); strings.Contains(r.stdout, "192.168.1.1") || !strings.Contains(r.stdout, "fd00::1") {
		t.Errorf("show --ipv6: %s", r.stdout)
	}
	e.mustRun(t, "", "bgppeer", "remove", "fd00::1")
	r = e.mustRun(t, "", "bgppeer", "remove", "192.168.1.1")
	if !strings.Contains(r.stdout, "Removed BGP peer bgppeer-192-168-1-1") {
		t.Errorf("remove: %v", r)
	}
	if r := e.mustRun(t, "", "bgppeer", "show"); strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("after remove: %s", r.stdout)
	}
}

func TestStatusHook(t *testing.T) {
	e := operatorEnv(t)
	r := e.mustRun(t, "", "status", "--status-socket", noDaemonSocket)
	if !strings.Contains(r.stdout, "This host:  calico-libnetwork is not running on this host: cannot reach "+noDaemonSocket) {
		t.Errorf("status without a daemon: %s", r.stdout)
	}
	if r := runCLI("", nil, "--etcd-endpoints", "http://127.0.0.1:1", "--config", "", "status"); r.code != 1 || !strings.Contains(r.stderr, "cannot reach etcd") {
		t.Errorf("unreachable etcd: %v", r)
	}
}

func TestProfileNameCompletion(t *testing.T) {
	e := operatorEnv(t)
	r := e.run(t, "", "__complete", "profile", "rule", "show", "cal")
	if r.code != 0 || !strings.Contains(r.stdout, "calico\n") {
		t.Errorf("profile completion: %v", r)
	}
}

func TestClassicRuleAndTagEdits(t *testing.T) {
	e := operatorEnv(t)
	e.mustRun(t, "", "profile", "add", "WEB")
	e.mustRun(t, "", "profile", "add", "DB")
	wantOK(t, e.run(t, "", "profile", "DB", "rule", "add", "inbound", "allow", "tcp", "from", "tag", "WEB", "to", "ports", "5432"), "Updated rules of profile DB: 2 inbound")
	wantOK(t, e.run(t, "", "profile", "DB", "rule", "add", "inbound", "--at", "1", "deny", "from", "cidr", "10.9.0.0/16"), "3 inbound")
	wantOK(t, e.run(t, "", "profile", "DB", "rule", "add", "outbound", "deny", "icmp", "type", "8"), "2 outbound")
	show := e.mustRun(t, "", "profile", "DB", "rule", "show").stdout
	for _, want := range []string{" 1 deny from cidr 10.9.0.0/16", " 3 allow tcp from tag WEB to ports 5432", " 2 deny icmp type 8"} {
		if !strings.Contains(show, want) {
			t.Errorf("rule show lacks %q:\n%s", want, show)
		}
	}
	// What rule show prints removes the rule again.
	wantOK(t, e.run(t, "", "profile", "DB", "rule", "remove", "inbound", "allow", "tcp", "from", "tag", "WEB", "to", "ports", "5432"), "2 inbound")
	wantOK(t, e.run(t, "", "profile", "DB", "rule", "remove", "inbound", "--at", "1"), "1 inbound")
	wantOK(t, e.run(t, "", "profile", "rule", "remove", "DB", "outbound", "--at", "2"), "1 outbound")
	wantOK(t, e.run(t, "", "profile", "WEB", "tag", "add", "FRONTEND"), "Added tag FRONTEND to profile WEB")
	if got := e.mustRun(t, "", "get", "profile", "WEB", "-o", "yaml").stdout; !strings.Contains(got, `FRONTEND: ""`) {
		t.Fatalf("tag not stored:\n%s", got)
	}
	wantOK(t, e.run(t, "", "profile", "WEB", "tag", "add", "FRONTEND"), "already has tag")
	wantOK(t, e.run(t, "", "profile", "tag", "remove", "WEB", "FRONTEND"), "Removed tag FRONTEND from profile WEB")
	wantOK(t, e.run(t, "", "bgppeer", "rr", "add", "192.0.2.9", "as", "65010"), "AS 65010")
	if got := e.mustRun(t, "", "get", "bgppeers", "-o", "yaml").stdout; !strings.Contains(got, "asNumber: 65010") || !strings.Contains(got, "route-reflector") {
		t.Fatalf("rr peer:\n%s", got)
	}
}
