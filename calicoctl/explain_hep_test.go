package calicoctl

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/calicoctl/policy"
)

// hepFixture protects host1's eth0 with Calico's "protect hosts" and
// pre-DNAT examples (kept as resources' test data), plus an untracked
// deny; host2 has an all-interfaces host endpoint with no policy.
const hepFixture = `apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: host1}
spec: {bgp: {ipv4Address: 192.168.100.1/24}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: host2}
spec: {bgp: {ipv4Address: 192.168.100.2/24}}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: host1-eth0, labels: {role: k8s-worker, host-endpoint: ""}}
spec: {node: host1, interfaceName: eth0, expectedIPs: [192.168.100.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: host1-eth0-shadowed}
spec: {node: host1, interfaceName: eth0}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: host2-all, labels: {role: memcached-client}}
spec: {node: host2, interfaceName: "*"}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: drop-bad-net}
spec:
  selector: role == 'k8s-worker'
  doNotTrack: true
  applyOnForward: true
  ingress: [{action: Deny, source: {nets: [203.0.113.0/24]}}]
`

func hepEnv(t *testing.T) *etcdEnv {
	e := operatorEnv(t)
	docs := ""
	for _, f := range []string{"protect-hosts-policy.yaml", "prednat-policy.yaml"} {
		b, err := os.ReadFile("../resources/testdata/calico-docs/" + f)
		if err != nil {
			t.Fatal(err)
		}
		docs += "---\n" + string(b)
	}
	e.mustRun(t, hepFixture+docs, "apply", "-f", "-")
	return e
}

// TestExplainHostEndpoint traces packets to, from and through host
// endpoints in the dataplane's order: untracked, pre-DNAT, failsafe,
// normal policy, default deny, and workload <-> host endpoint both sides.
func TestExplainHostEndpoint(t *testing.T) {
	e := hepEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"failsafe before policy", []string{"--from", "192.168.100.7", "--to", "hostendpoint/host1-eth0", "--port", "22"}, cli.ExitOK,
			[]string{"allowed before policy: failsafe tcp:22", "failsafe (doNotTrack)", "failsafe (preDNAT)", "failsafe (normal)"}},
		{"pre-DNAT allow skips normal policy", []string{"--from", "192.168.100.7", "--to", "host1:eth0", "--port", "8080"}, cli.ExitOK,
			[]string{"allowed by policy GlobalNetworkPolicy/allow-cluster-internal-ingress rule 0", "normal policy is skipped"}},
		{"untracked deny first", []string{"--from", "203.0.113.5", "--to", "host1:eth0", "--port", "10250"}, cli.ExitDenied,
			[]string{"ingress (doNotTrack, hostendpoint/host1-eth0) denied by policy GlobalNetworkPolicy/drop-bad-net rule 0"}},
		{"normal policy by expectedIP", []string{"--from", "10.241.0.1", "--to", "192.168.100.1", "--port", "10250"}, cli.ExitOK,
			[]string{"ingress (normal, hostendpoint/host1-eth0) allowed by policy GlobalNetworkPolicy/k8s-worker rule 2"}},
		{"normal end of tier", []string{"--from", "10.241.0.1", "--to", "192.168.100.1", "--port", "8080"}, cli.ExitDenied,
			[]string{"policies select hostendpoint/host1-eth0 and none allowed"}},
		{"egress failsafe", []string{"--from", "hostendpoint/host1-eth0", "--to", "192.168.100.9", "--port", "2379"}, cli.ExitOK,
			[]string{"egress (normal, hostendpoint/host1-eth0) allowed before policy: failsafe tcp:2379"}},
		{"workload to another host's endpoint: both sides", []string{"--from", "bookstore-server", "--to", "hostendpoint/host2-all", "--port", "80"}, cli.ExitDenied,
			[]string{"profile", "calico", "no policy and no profile applies to hostendpoint/host2-all (a host endpoint's default deny)"}},
		{"a node's address: its * host endpoint", []string{"--from", "192.168.100.9", "--to", "192.168.100.2", "--port", "80"}, cli.ExitDenied,
			[]string{"host endpoint host2-all (node host2, interface *, 192.168.100.2)", "default deny"}},
		{"host endpoint to another host's workload", []string{"--from", "host2:eth7", "--to", "bookstore-frontend", "--port", "80"}, cli.ExitDenied,
			[]string{"egress (normal, hostendpoint/host2-all) denied"}},
		{"workload to its own host endpoint: endpoint_to_host_action", []string{"--from", "bookstore-server", "--to", "host1:eth0", "--port", "80"}, cli.ExitDenied,
			[]string{"host endpoint host1-eth0's address on the workload's own host", "endpoint_to_host_action is Drop"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"policy", "explain"}, tc.args...)
			r := e.runCode(t, tc.code, "", args...)
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			j := e.runCode(t, tc.code, "", append(args, "-o", "json")...)
			var got policy.Explanation
			if err := json.Unmarshal([]byte(j.stdout), &got); err != nil || got.Allowed != (tc.code == cli.ExitOK) {
				t.Errorf("json (%v):\n%s", err, j.stdout)
			}
		})
	}
}

func TestExplainHostEndpointGolden(t *testing.T) {
	e := hepEnv(t)
	goldenEveryFormat(t, e, "explain_hep_prednat_", "policy", "explain", "--from", "192.168.100.7", "--to", "host1:eth0", "--port", "8080")
	r := e.runCode(t, cli.ExitOK, "", "policy", "explain", "--from", "192.168.100.7", "--to", "hostendpoint/host1-eth0", "--port", "22")
	checkGolden(t, "explain_hep_failsafe_table", r.stdout)
	r = e.runCode(t, cli.ExitDenied, "", "policy", "explain", "--from", "bookstore-server", "--to", "hostendpoint/host2-all", "--port", "80", "-o", "wide")
	checkGolden(t, "explain_hep_both_sides_wide", r.stdout)
	// A staged deny changes nothing but shows what it would do.
	e.mustRun(t, `apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: no-kubelet}
spec:
  order: -1
  selector: role == 'k8s-worker'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [10250]}}]
`, "apply", "-f", "-")
	r = e.runCode(t, cli.ExitOK, "", "policy", "explain", "--from", "10.241.0.1", "--to", "192.168.100.1", "--port", "10250")
	checkGolden(t, "explain_hep_staged_table", r.stdout)
}

func TestExplainHostEndpointErrors(t *testing.T) {
	e := hepEnv(t)
	before := e.snapshot(t)
	for _, tc := range []struct {
		name, to, wantErr string
	}{
		{"unknown name", "hostendpoint/nope", `--to hostendpoint/nope: no HostEndpoint named "nope"`},
		{"interface on the wrong node", "host3:eth0", "node host3 has no host endpoint for interface eth0 (spec.interfaceName eth0 is host endpoint host1-eth0's, on node host1): give host1:eth0"},
		{"interface not policed", "host1:eth1", "no host endpoint of node host1 has spec.interfaceName eth1"},
		{"workload interface", "host1:cali1234", "is a workload's interface, never a host endpoint"},
		{"no node", ":eth0", "give a host endpoint as NODE:INTERFACE"},
		{"shadowed", "hostendpoint/host1-eth0-shadowed", "host endpoint host1-eth0-shadowed is not enforced: host1-eth0 (first by name) has the same spec.interfaceName eth0"},
		{"host to itself", "hostendpoint/host1-eth0", "a host talks to itself"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from := "192.168.100.7"
			if tc.name == "host to itself" {
				from = "host1:eth0"
			}
			r := e.run(t, "", "policy", "explain", "--from", from, "--to", tc.to, "--port", "80")
			if r.code != cli.ExitFailure || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("want exit 1 with %q, got %v", tc.wantErr, r)
			}
		})
	}
	e.assertUnchanged(t, before)
}

// TestExplainHostEndpointFailsafe: the failsafe ports come from the
// command line (the daemon's settings), else FelixConfiguration, else
// Calico's defaults.
func TestExplainHostEndpointFailsafe(t *testing.T) {
	e := hepEnv(t)
	ssh := []string{"policy", "explain", "--from", "10.241.0.1", "--to", "host1:eth0", "--port", "22"}
	e.runCode(t, cli.ExitOK, "", ssh...)
	r := e.runCode(t, cli.ExitDenied, "", append(ssh, "--failsafe-inbound-host-ports", "none")...)
	if !strings.Contains(r.stdout, "none allowed") {
		t.Errorf("no failsafe ports:\n%s", r.stdout)
	}
	e.mustRun(t, `apiVersion: projectcalico.org/v3
kind: FelixConfiguration
metadata: {name: node.host1}
spec: {failsafeInboundHostPorts: [{protocol: tcp, port: 8080}]}
`, "apply", "-f", "-")
	e.runCode(t, cli.ExitDenied, "", ssh...)
	r = e.runCode(t, cli.ExitOK, "", "policy", "explain", "--from", "10.241.0.1", "--to", "host1:eth0", "--port", "8080")
	if !strings.Contains(r.stdout, "failsafe tcp:8080") {
		t.Errorf("FelixConfiguration's failsafe port:\n%s", r.stdout)
	}
	e.runCode(t, cli.ExitOK, "", append(ssh, "--failsafe-inbound-host-ports", "tcp:22")...)
	before := e.snapshot(t)
	r = e.run(t, "", append(ssh, "--failsafe-inbound-host-ports", "tcp:x")...)
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, `--failsafe-inbound-host-ports: entry 1 "tcp:x"`) {
		t.Errorf("bad failsafe flag: %v", r)
	}
	e.assertUnchanged(t, before)
}

// TestPolicyShowHostEndpoint: a host endpoint's policies per stage, in
// the dataplane's order.
func TestPolicyShowHostEndpoint(t *testing.T) {
	e := hepEnv(t)
	r := e.runCode(t, cli.ExitOK, "", "policy", "show", "--endpoint", "host1:eth0")
	checkGolden(t, "policy_show_hep_table", r.stdout)
	r = e.runCode(t, cli.ExitOK, "", "policy", "show", "--endpoint", "192.168.100.1", "-o", "json")
	if !strings.Contains(r.stdout, `"stage": "preDNAT"`) {
		t.Errorf("json lacks the stage:\n%s", r.stdout)
	}
	if r := e.run(t, "", "policy", "show", "--endpoint", "hostendpoint/nope"); r.code != cli.ExitFailure || !strings.Contains(r.stderr, `--endpoint hostendpoint/nope: no HostEndpoint named "nope"`) {
		t.Errorf("unknown host endpoint: %v", r)
	}
}
