package calicoctl

import (
	"context"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/calicoctl/classic"
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/calicoctl/policy"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// v0Env holds four endpoints without profiles: g1a, g1b in PROF_GROUP1
// and web1, web2 in WEB once the test adds them.
const v0Endpoints = `
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool}
spec: {cidr: 10.0.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: host1-libnetwork-libnetwork-0000000000a1}
spec: {node: host1, workload: g1a, endpoint: 0000000000a1, ipNetworks: [10.0.0.1/32], interfaceName: cali0000000000a}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: host2-libnetwork-libnetwork-0000000000a2}
spec: {node: host2, workload: g1b, endpoint: 0000000000a2, ipNetworks: [10.0.64.1/32], interfaceName: cali0000000000b}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: host1-libnetwork-libnetwork-0000000000b1}
spec: {node: host1, workload: web1, endpoint: 0000000000b1, ipNetworks: [10.0.0.10/32], interfaceName: cali0000000000c}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: host2-libnetwork-libnetwork-0000000000b2}
spec: {node: host2, workload: web2, endpoint: 0000000000b2, ipNetworks: [10.0.64.10/32], interfaceName: cali0000000000d}
`

func v0Env(t *testing.T) *etcdEnv {
	t.Helper()
	e := startEtcd(t)
	e.mustRun(t, v0Endpoints, "apply", "-f", "-")
	e.mustRun(t, "", "profile", "PROF_GROUP1", "member", "add", "g1a")
	e.mustRun(t, "", "profile", "PROF_GROUP1", "member", "add", "g1b")
	e.mustRun(t, "", "profile", "WEB", "member", "add", "web1")
	e.mustRun(t, "", "profile", "WEB", "member", "add", "web2")
	return e
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeRules(t *testing.T, s string) *classic.V0Rules {
	t.Helper()
	r, err := classic.DecodeV0Rules(strings.NewReader(s))
	if err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return r
}

func TestV0RulesRoundTrip(t *testing.T) {
	e := v0Env(t)
	seed := readFile(t, "testdata/seed003-prof_group1.json")
	r := e.mustRun(t, seed, "profile", "PROF_GROUP1", "rule", "update")
	if !strings.Contains(r.stdout, "Updated rules of profile PROF_GROUP1: 2 inbound, 1 outbound") {
		t.Errorf("update: %v", r)
	}
	shown := e.mustRun(t, "", "profile", "PROF_GROUP1", "rule", "show", "-o", "json").stdout
	if got, want := decodeRules(t, shown), decodeRules(t, seed); !reflect.DeepEqual(got, want) {
		t.Errorf("seed 003 rules do not round-trip:\n%s\nwant\n%s", shown, seed)
	}
	if j := e.mustRun(t, "", "profile", "PROF_GROUP1", "rule", "json").stdout; j != shown {
		t.Errorf("rule json differs from rule show -o json:\n%s\n%s", j, shown)
	}
	checkGolden(t, "rule_show_seed003", e.mustRun(t, "", "profile", "PROF_GROUP1", "rule", "show").stdout)
	checkGolden(t, "rule_seed003_profile_yaml", e.mustRun(t, "", "get", "profile", "PROF_GROUP1", "-o", "yaml").stdout)

	web := readFile(t, "testdata/v0-web.json")
	e.mustRun(t, web, "profile", "WEB", "rule", "update")
	shown = e.mustRun(t, "", "profile", "WEB", "rule", "json").stdout
	checkGolden(t, "rule_json_web", shown)
	checkGolden(t, "rule_show_web", e.mustRun(t, "", "profile", "WEB", "rule", "show").stdout)
	// What rule json prints, rule update takes back unchanged.
	e.mustRun(t, shown, "profile", "WEB", "rule", "update")
	if again := e.mustRun(t, "", "profile", "WEB", "rule", "json").stdout; again != shown {
		t.Errorf("second round trip differs:\n%s\nwant\n%s", again, shown)
	}
	if y := e.mustRun(t, "", "profile", "WEB", "rule", "show", "-o", "yaml").stdout; !strings.Contains(y, "inbound_rules:") {
		t.Errorf("yaml: %s", y)
	}
}

func TestV0RuleShowOfV3OnlyRules(t *testing.T) {
	e := v0Env(t)
	e.mustRun(t, `apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: WEB}
spec:
  labelsToApply: {WEB: ""}
  ingress:
  - action: Log
  - action: Allow
    source: {selector: "role == 'db'", notNets: [10.1.0.0/16]}
  egress:
  - action: Allow
`, "apply", "-f", "-")
	checkGolden(t, "rule_show_v3only", e.mustRun(t, "", "profile", "WEB", "rule", "show").stdout)
	r := e.runCode(t, cli.ExitFailure, "", "profile", "WEB", "rule", "json")
	if !strings.Contains(r.stderr, "ingress rule 0: action Log") || !strings.Contains(r.stderr, "get profile WEB -o yaml") {
		t.Errorf("rule json of v3-only rules: %v", r)
	}
}

func TestV0TagOwnerGetsLabel(t *testing.T) {
	e := startEtcd(t)
	e.mustRun(t, `{"apiVersion":"projectcalico.org/v3","kind":"Profile","metadata":{"name":"DB"}}`, "apply", "-f", "-")
	e.mustRun(t, "", "profile", "add", "WEB")
	r := e.mustRun(t, `{"id":"WEB","inbound_rules":[{"action":"allow","src_tag":"DB"},{"action":"allow","src_tag":"GHOST"}],"outbound_rules":[]}`,
		"profile", "WEB", "rule", "update")
	if !strings.Contains(r.stdout, "Profile DB now applies its tag DB") || !strings.Contains(r.stderr, "no profile GHOST carries tag GHOST") {
		t.Errorf("tag owners: %v", r)
	}
	p, err := datastore.GetAs[*resources.Profile](context.Background(), datastore.New(e.cli), "", "DB")
	if err != nil || p.Spec.LabelsToApply["DB"] != "" || len(p.Spec.LabelsToApply) != 1 {
		t.Errorf("DB labels %v (%v)", p.Spec.LabelsToApply, err)
	}
}

// TestV0RulesVerdicts checks that the v3 profiles rule update stores give
// calc.Model (the dataplane's calculation) the verdicts the v0 rules meant,
// evaluated here independently with v0 semantics.
func TestV0RulesVerdicts(t *testing.T) {
	e := v0Env(t)
	files := map[string]string{"PROF_GROUP1": "testdata/seed003-prof_group1.json", "WEB": "testdata/v0-web.json"}
	v0 := &v0World{profiles: map[string]*classic.V0Rules{}, members: map[netip.Addr][]string{
		netip.MustParseAddr("10.0.0.1"): {"PROF_GROUP1"}, netip.MustParseAddr("10.0.64.1"): {"PROF_GROUP1"},
		netip.MustParseAddr("10.0.0.10"): {"WEB"}, netip.MustParseAddr("10.0.64.10"): {"WEB"},
	}}
	for name, file := range files {
		data := readFile(t, file)
		e.mustRun(t, data, "profile", name, "rule", "update")
		v0.profiles[name] = decodeRules(t, data)
	}
	view, err := policy.LoadPolicyView(context.Background(), datastore.New(e.cli))
	if err != nil {
		t.Fatal(err)
	}
	addrs := []string{"10.0.0.1", "10.0.64.1", "10.0.0.10", "10.0.64.10", "10.0.64.9", "192.0.2.5", "172.16.0.1"}
	checked, allowed := 0, 0
	for _, src := range addrs {
		for _, dst := range addrs {
			if src == dst {
				continue
			}
			for _, pkt := range testPackets(netip.MustParseAddr(src), netip.MustParseAddr(dst)) {
				want := v0.allowed(pkt)
				got := view.Model.Verdict(pkt)
				if got.Allowed != want {
					t.Errorf("%+v: calc says %v (%s), v0 rules say %v", pkt, got.Allowed, got.Reason, want)
				}
				checked++
				if want {
					allowed++
				}
			}
		}
	}
	if allowed == 0 || allowed == checked {
		t.Errorf("degenerate matrix: %d of %d allowed", allowed, checked)
	}
}

func testPackets(src, dst netip.Addr) []calc.Packet {
	var out []calc.Packet
	for _, p := range []struct {
		proto        uint8
		sport, dport uint16
		icmpT, icmpC int
	}{
		{6, 40000, 22, -1, 0}, {6, 40000, 80, -1, 0}, {6, 40000, 443, -1, 0}, {6, 40000, 444, -1, 0}, {6, 40000, 8080, -1, 0},
		{17, 5353, 53, -1, 0}, {17, 53, 53, -1, 0}, {17, 5353, 54, -1, 0},
		{1, 0, 0, 8, 0}, {1, 0, 0, 0, 0}, {1, 0, 0, 8, 1},
	} {
		out = append(out, calc.Packet{Src: src, Dst: dst, Protocol: p.proto, SrcPort: p.sport, DstPort: p.dport, ICMPType: p.icmpT, ICMPCode: p.icmpC})
	}
	return out
}

// v0World evaluates v0 profile rules as calico-docker's felix did: the
// source endpoint's outbound rules, then the destination's inbound rules;
// per endpoint its profiles in order, first matching rule decides, no
// match in any profile drops. A profile carries its own name as tag.
type v0World struct {
	profiles map[string]*classic.V0Rules
	members  map[netip.Addr][]string
}

func (w *v0World) allowed(pkt calc.Packet) bool {
	if profs, ok := w.members[pkt.Src]; ok && !w.decide(profs, pkt, false) {
		return false
	}
	if profs, ok := w.members[pkt.Dst]; ok {
		return w.decide(profs, pkt, true)
	}
	return true
}

func (w *v0World) decide(profs []string, pkt calc.Packet, inbound bool) bool {
	for _, name := range profs {
		rules := w.profiles[name].OutboundRules
		if inbound {
			rules = w.profiles[name].InboundRules
		}
		for _, r := range rules {
			if w.matches(&r, pkt) {
				return r.Action == "allow"
			}
		}
	}
	return false
}

func (w *v0World) hasTag(a netip.Addr, tag string) bool {
	for _, p := range w.members[a] {
		if p == tag {
			return true
		}
	}
	return false
}

func (w *v0World) matches(r *classic.V0Rule, pkt calc.Packet) bool {
	numbers := map[string]uint8{"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}
	switch {
	case r.Protocol != "" && numbers[r.Protocol] != pkt.Protocol,
		r.IPVersion != nil && (*r.IPVersion == 4) != pkt.Src.Is4(),
		r.SrcTag != "" && !w.hasTag(pkt.Src, r.SrcTag),
		r.DstTag != "" && !w.hasTag(pkt.Dst, r.DstTag),
		r.SrcNet != "" && !netip.MustParsePrefix(fullPrefix(r.SrcNet)).Contains(pkt.Src),
		r.DstNet != "" && !netip.MustParsePrefix(fullPrefix(r.DstNet)).Contains(pkt.Dst),
		len(r.SrcPorts) > 0 && !portIn(r.SrcPorts, pkt.SrcPort),
		len(r.DstPorts) > 0 && !portIn(r.DstPorts, pkt.DstPort),
		r.ICMPType != nil && *r.ICMPType != pkt.ICMPType,
		r.ICMPCode != nil && *r.ICMPCode != pkt.ICMPCode:
		return false
	}
	return true
}

func fullPrefix(s string) string {
	if strings.Contains(s, "/") {
		return s
	}
	return s + "/32"
}

func portIn(ports []resources.Port, p uint16) bool {
	for _, r := range ports {
		if p >= r.Min && p <= r.Max {
			return true
		}
	}
	return false
}
