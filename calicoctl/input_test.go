package calicoctl

import (
	"os"
	"strings"
	"testing"
)

const goodPool = `apiVersion: projectcalico.org/v3
kind: IPPool
metadata:
  name: good-pool
spec:
  cidr: 10.9.0.0/16
`

func TestBadInputChangesNothing(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	tests := []struct {
		name, input string
		wantErr     []string // each must appear on stderr
	}{
		{"unknown field", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.2.0.0/16, natOutgoin: true}\n",
			[]string{"natOutgoin", "document 1"}},
		{"bad CIDR", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.2.0.0/33}\n",
			[]string{"spec.cidr", "10.2.0.0/33", `IPPool "p"`}},
		{"bad kind", "apiVersion: projectcalico.org/v3\nkind: IPPol\nmetadata: {name: p}\n", []string{"kind", "IPPol", "not a known kind"}},
		{"bad apiVersion", "apiVersion: projectcalico.org/v1\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.2.0.0/16}\n",
			[]string{"apiVersion", "projectcalico.org/v3"}},
		{"malformed YAML", "apiVersion: projectcalico.org/v3\nkind: [IPPool\n", []string{"document 1", "not valid YAML"}},
		{"empty input", "", []string{"no resources found"}},
		{"one bad doc among good ones", goodPool + "---\n" + strings.Replace(goodPool, "good-pool", "Bad_Pool", 1) + "---\n" +
			strings.Replace(goodPool, "good-pool", "good2", 1), []string{"resource 2", "metadata.name", "Bad_Pool"}},
		{"every bad doc is reported", strings.Replace(goodPool, "10.9.0.0/16", "nope", 1) + "---\n" +
			strings.Replace(goodPool, "10.9.0.0/16", "10.9.0.1/16", 1), []string{"2 of 2", "resource 1", "resource 2", "host bits"}},
		{"bad item in a List", `{"apiVersion":"projectcalico.org/v3","kind":"List","items":[` +
			`{"apiVersion":"projectcalico.org/v3","kind":"Profile","metadata":{"name":"ok"}},` +
			`{"apiVersion":"projectcalico.org/v3","kind":"Profile","metadata":{"name":"x"},"spec":{"ingress":[{"action":"Alow"}]}}]}`,
			[]string{"spec.ingress[0].action", "Alow"}},
		{"JSON type error", `{"apiVersion":"projectcalico.org/v3","kind":"IPPool","metadata":{"name":"p"},"spec":{"cidr":"10.2.0.0/16","blockSize":"big"}}`,
			[]string{"spec.blockSize"}},
		{"namespace on a cluster kind", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p, namespace: default}\nspec: {cidr: 10.2.0.0/16}\n",
			[]string{"metadata.namespace", "not namespaced"}},
		{"bad namespace", "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: p, namespace: Prod_1}\n",
			[]string{"metadata.namespace", "Prod_1"}},
		{"duplicate key", "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.2.0.0/16, cidr: 10.3.0.0/16}\n",
			[]string{"given twice"}},
		{"field that does not apply on Docker", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {serviceAccountSelector: all()}\n",
			[]string{"spec.serviceAccountSelector", "does not apply on Docker"}},
		{"duplicate object", goodPool + "---\n" + goodPool, []string{"also resource 1"}},
		{"bad selector", "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {selector: \"role ==\"}\n",
			[]string{"spec.selector"}},
		{"existing object changed by a stale resourceVersion", goodPool + "---\n" +
			"apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: net2, resourceVersion: \"1\"}\nspec: {cidr: 10.1.0.0/16}\n",
			[]string{"resource 2", "changed since resourceVersion 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, verb := range []string{"apply", "create", "replace"} {
				before := e.snapshot(t)
				r := e.run(t, tc.input, verb, "-f", "-")
				if r.code != 1 {
					t.Errorf("%s: want exit 1, got %v", verb, r)
				}
				if verb == "apply" {
					for _, s := range tc.wantErr {
						if !strings.Contains(r.stderr, s) {
							t.Errorf("%s: stderr lacks %q: %v", verb, s, r)
						}
					}
				}
				if !strings.Contains(r.stderr, "nothing was changed") {
					t.Errorf("%s: stderr does not say nothing was changed: %v", verb, r)
				}
				e.assertUnchanged(t, before)
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	e := startEtcd(t)
	wantFail(t, e.run(t, "", "apply", "-f", "testdata/does-not-exist.yaml"), "cannot read testdata/does-not-exist.yaml")
	wantFail(t, e.run(t, "", "apply", "-f", t.TempDir()), "is a directory without .yaml")
	wantFail(t, e.run(t, "", "apply"), "give the resources with -f FILE")
	wantFail(t, e.run(t, "", "apply", "-f", "x", "extra"), "unknown command")
	wantFail(t, e.run(t, goodPool, "apply", "-f", "-", "-n", "No_Such"), `-n "No_Such" is not a valid namespace`)
}

func TestSeedYAMLsApplyUnchanged(t *testing.T) {
	e := startEtcd(t)
	for _, f := range []string{"testdata/seed-policy-bookstore.yaml", "testdata/seed-profile-calico.yaml"} {
		wantOK(t, e.run(t, "", "apply", "-f", f), "Successfully applied 1")
	}
	r := e.mustRun(t, "", "get", "networkpolicy", "allow-bookstore-cliient-to-server", "-o", "yaml")
	for _, s := range []string{"biz_type == 'bookstore' && role == 'server'", "biz_type == 'fruitstore'", "- 80", "action: Deny"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("stored policy lacks %q:\n%s", s, r.stdout)
		}
	}
	// The seed's "adding network profiles" examples are templates: their
	// <network-name>/<profile-name> placeholders are rejected clearly, and
	// with only the placeholder filled in they apply as they are.
	for _, tc := range []struct{ file, placeholder, kind string }{
		{"testdata/seed-ippool.yaml", "<network-name>", "IPPool"},
		{"testdata/seed-profile.yaml", "<profile-name>", "Profile"},
	} {
		raw, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		before := e.snapshot(t)
		wantFail(t, e.run(t, string(raw), "create", "-f", "-"), "metadata.name ("+tc.placeholder+"): is not a valid name")
		e.assertUnchanged(t, before)
		filled := strings.ReplaceAll(string(raw), tc.placeholder, "net2")
		wantOK(t, e.run(t, filled, "create", "-f", "-"), "Successfully created 1 '"+tc.kind+"' resource(s)")
	}
	r = e.mustRun(t, "", "get", "ippool", "net2", "-o", "wide")
	if !strings.Contains(r.stdout, "10.1.0.0/16") || !strings.Contains(r.stdout, "true") {
		t.Errorf("seed pool not stored as given:\n%s", r.stdout)
	}
}

func TestWriteSemantics(t *testing.T) {
	e := startEtcd(t)
	two := goodPool + "---\n" + strings.Replace(strings.Replace(goodPool, "good-pool", "second", 1), "10.9.", "10.8.", 1)
	prof := "apiVersion: projectcalico.org/v3\nkind: Profile\nmetadata: {name: prof}\n"

	wantOK(t, e.run(t, two, "apply", "-f", "-"), "Successfully applied 2 'IPPool' resource(s)")
	wantOK(t, e.run(t, two+"---\n"+prof, "apply", "-f", "-"), "Successfully applied 3 resource(s)")

	// create: all-or-nothing when one exists; --skip-exists leaves it alone.
	third := strings.Replace(strings.Replace(goodPool, "good-pool", "third", 1), "10.9.", "10.7.", 1)
	before := e.snapshot(t)
	wantFail(t, e.run(t, third+"---\n"+goodPool, "create", "-f", "-"), `IPPool "good-pool" already exists`)
	e.assertUnchanged(t, before)
	r := e.run(t, third+"---\n"+goodPool, "create", "--skip-exists", "-f", "-")
	wantOK(t, r, "Successfully created 1 'IPPool' resource(s)")
	wantOK(t, r, "Skipped 1")

	// replace: every object must exist.
	fourth := strings.Replace(goodPool, "good-pool", "fourth", 1)
	before = e.snapshot(t)
	wantFail(t, e.run(t, goodPool+"---\n"+fourth, "replace", "-f", "-"), `IPPool "fourth" does not exist`)
	e.assertUnchanged(t, before)

	// delete by name: all-or-nothing, --skip-not-exists, duplicates once.
	wantFail(t, e.run(t, "", "delete", "ippool", "good-pool", "fourth"), `IPPool "fourth" does not exist`)
	e.assertUnchanged(t, before)
	wantOK(t, e.run(t, "", "delete", "pools", "good-pool", "fourth", "good-pool", "--skip-not-exists"), "Successfully deleted 1 'IPPool' resource(s)")
	wantOK(t, e.run(t, "", "delete", "profile", "prof"), "Successfully deleted 1 'Profile' resource(s)")
	wantFail(t, e.run(t, "", "delete", "ippool"), "at least one name")
	wantFail(t, e.run(t, "", "delete", "wep", "x", "-n", "kube-system"), `WorkloadEndpoint "x" does not exist`)
	wantFail(t, e.run(t, "", "delete", "nosuchkind", "x"), `unknown resource kind "nosuchkind"`)
}

// TestBadInputPerKind: one bad object of each v3 kind is refused by apply,
// naming the field, and nothing is stored.
func TestBadInputPerKind(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	h := "apiVersion: projectcalico.org/v3\n"
	cases := map[string][2]string{
		"HostEndpoint":              {"kind: HostEndpoint\nmetadata: {name: h}\nspec: {node: host1, expectedIPs: [10.0.0.0/24]}\n", "spec.expectedIPs[0]"},
		"GlobalNetworkSet":          {"kind: GlobalNetworkSet\nmetadata: {name: s}\nspec: {nets: [nope]}\n", "spec.nets[0]"},
		"NetworkSet":                {"kind: NetworkSet\nmetadata: {name: s, namespace: team-a}\nspec: {nets: [10.0.0.0/40]}\n", "spec.nets[0]"},
		"Tier":                      {"kind: Tier\nmetadata: {name: t}\nspec: {defaultAction: Allow}\n", "spec.defaultAction"},
		"StagedNetworkPolicy":       {"kind: StagedNetworkPolicy\nmetadata: {name: p}\nspec: {stagedAction: Maybe}\n", "spec.stagedAction"},
		"StagedGlobalNetworkPolicy": {"kind: StagedGlobalNetworkPolicy\nmetadata: {name: p}\nspec: {ingress: [{action: Allow, http: {methods: [GET]}}]}\n", "spec.ingress[0].http"},
		"FelixConfiguration":        {"kind: FelixConfiguration\nmetadata: {name: default}\nspec: {failsafeInboundHostPorts: [{protocol: icmp, port: 1}]}\n", "spec.failsafeInboundHostPorts[0].protocol"},
		"ClusterInformation":        {"kind: ClusterInformation\nmetadata: {name: mine}\nspec: {}\n", "metadata.name"},
		"IPReservation":             {"kind: IPReservation\nmetadata: {name: r}\nspec: {reservedCIDRs: [10.0.0.300]}\n", "spec.reservedCIDRs[0]"},
		"BGPFilter":                 {"kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Accept, cidr: 10.0.0.0/8}]}\n", "spec.importV4[0].matchOperator"},
		"BGPPeer":                   {"kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: 1, sourceAddress: Mine}\n", "spec.sourceAddress"},
		"GlobalNetworkPolicy":       {"kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {preDNAT: true, applyOnForward: true, egress: [{action: Allow}]}\n", "spec.egress"},
		"NetworkPolicy":             {"kind: NetworkPolicy\nmetadata: {name: p, namespace: team-a}\nspec: {applyOnForward: true}\n", "spec.applyOnForward"},
	}
	for kind, c := range cases {
		t.Run(kind, func(t *testing.T) {
			before := e.snapshot(t)
			r := e.run(t, h+c[0], "apply", "-f", "-")
			if r.code != 1 || !strings.Contains(r.stderr, c[1]) || !strings.Contains(r.stderr, "nothing was changed") {
				t.Errorf("want exit 1 naming %s: %v", c[1], r)
			}
			e.assertUnchanged(t, before)
		})
	}
}
