package calicoctl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/calicoctl/policy"
)

func TestExplainSeedBookstore(t *testing.T) {
	e := operatorEnv(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		verdict  string
		contains []string
	}{
		{"frontend to server port 80 allowed by rule 0", []string{"--from", "bookstore-frontend", "--to", "bookstore-server", "--port", "80"},
			cli.ExitOK, "allowed", []string{"rule 0: Allow", "NetworkPolicy/default/allow-bookstore-cliient-to-server"}},
		{"fruitstore to server port 80 denied by rule 1", []string{"--from", "fruitstore-frontend", "--to", "bookstore-server", "--port", "80"},
			cli.ExitDenied, "denied", []string{"rule 1: Deny"}},
		{"frontend to server other port denied, no rule matched", []string{"--from", "bookstore-frontend", "--to", "bookstore-server", "--port", "8080"},
			cli.ExitDenied, "denied", []string{"no rule matched"}},
		{"server to frontend falls to the profile", []string{"--from", "bookstore-server", "--to", "10.0.0.1", "--port", "80"},
			cli.ExitOK, "allowed", []string{"profile", "calico"}},
		{"outside host to server", []string{"--from", "192.0.2.7", "--to", "64a1389bfc94", "--port", "80"},
			cli.ExitDenied, "denied", []string{"not a workload"}},
		{"workload to outside host", []string{"--from", "bookstore-server", "--to", "192.0.2.7", "--protocol", "icmp"},
			cli.ExitOK, "allowed", []string{"ICMP type 8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"policy", "explain"}, tc.args...)
			r := e.runCode(t, tc.code, "", args...)
			if !strings.Contains(r.stdout, "Verdict:  "+strings.ToUpper(tc.verdict)) {
				t.Errorf("want verdict %s:\n%s", tc.verdict, r.stdout)
			}
			for _, c := range tc.contains {
				if !strings.Contains(r.stdout, c) {
					t.Errorf("output lacks %q:\n%s", c, r.stdout)
				}
			}
			j := e.runCode(t, tc.code, "", append(args, "-o", "json")...)
			var got policy.Explanation
			if err := json.Unmarshal([]byte(j.stdout), &got); err != nil || got.Verdict != tc.verdict {
				t.Errorf("json verdict %q (%v):\n%s", got.Verdict, err, j.stdout)
			}
		})
	}
}

func TestExplainGolden(t *testing.T) {
	e := operatorEnv(t)
	goldenEveryFormat(t, e, "explain_allowed_", "policy", "explain", "--from", "bookstore-frontend", "--to", "bookstore-server", "--port", "80")
	r := e.runCode(t, cli.ExitDenied, "", "policy", "explain", "--from", "fruitstore-frontend", "--to", "bookstore-server", "--port", "80")
	checkGolden(t, "explain_denied_table", r.stdout)
	r = e.runCode(t, cli.ExitDenied, "", "policy", "explain", "--from", "bookstore-frontend", "--to", "bookstore-server", "--port", "22", "-o", "wide")
	checkGolden(t, "explain_nomatch_wide", r.stdout)
}

// goldenEveryFormat checks the output of an allowed explain in every
// output format against testdata/<prefix><format>.golden.
func goldenEveryFormat(t *testing.T, e *etcdEnv, prefix string, args ...string) {
	t.Helper()
	for _, format := range []string{"table", "wide", "yaml", "json"} {
		r := e.runCode(t, cli.ExitOK, "", append(args, "-o", format)...)
		checkGolden(t, prefix+format, r.stdout)
	}
}

func TestExplainErrors(t *testing.T) {
	e := operatorEnv(t)
	before := e.snapshot(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown container", []string{"--from", "nope", "--to", "bookstore-server", "--port", "80"}, `no container or endpoint "nope"`},
		{"bad IP", []string{"--from", "10.0.0.300", "--to", "bookstore-server", "--port", "80"}, "not a valid IP address"},
		{"bad port", []string{"--from", "bookstore-frontend", "--to", "bookstore-server", "--port", "70000"}, "between 0 and 65535"},
		{"missing port", []string{"--from", "bookstore-frontend", "--to", "bookstore-server"}, "--port is required"},
		{"port with ICMP", []string{"--from", "bookstore-frontend", "--to", "bookstore-server", "--protocol", "icmp", "--port", "1"}, "--port makes no sense"},
		{"bad protocol", []string{"--from", "bookstore-frontend", "--to", "bookstore-server", "--protocol", "xtp", "--port", "1"}, `protocol "xtp"`},
		{"no to", []string{"--from", "bookstore-frontend", "--port", "80"}, "give both --from and --to"},
		{"same endpoint", []string{"--from", "bookstore-server", "--to", "10.0.0.2", "--port", "80"}, "both 10.0.0.2"},
		{"ambiguous prefix", []string{"--from", "", "--to", "bookstore-server", "--port", "80"}, "give both"},
		{"bad output", []string{"--from", "bookstore-frontend", "--to", "bookstore-server", "--port", "80", "-o", "name"}, "not supported here"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(t, "", append([]string{"policy", "explain"}, tc.args...)...)
			if r.code != cli.ExitFailure || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("want exit 1 with %q, got %v", tc.wantErr, r)
			}
		})
	}
	e.assertUnchanged(t, before)
}

func TestPolicyShowGolden(t *testing.T) {
	e := operatorEnv(t)
	for _, format := range []string{"table", "wide", "yaml", "json"} {
		r := e.runCode(t, cli.ExitOK, "", "policy", "show", "--endpoint", "bookstore-server", "-o", format)
		checkGolden(t, "policy_show_"+format, r.stdout)
	}
	r := e.runCode(t, cli.ExitOK, "", "policy", "show", "--endpoint", "10.0.0.1")
	if !strings.Contains(r.stdout, "bookstore-frontend") || strings.Contains(r.stdout, "NetworkPolicy") {
		t.Errorf("frontend is selected by no policy:\n%s", r.stdout)
	}
	if r := e.run(t, "", "policy", "show", "--endpoint", "192.0.2.1"); r.code != 1 || !strings.Contains(r.stderr, "no workload endpoint") {
		t.Errorf("outside address: %v", r)
	}
}

// TestExplainStagedAndTiers: a staged Deny changes no verdict but shows
// what it would decide; a tier's Pass reaches the next tier.
func TestExplainStagedAndTiers(t *testing.T) {
	e := operatorEnv(t)
	e.mustRun(t, `apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: deny-frontend}
spec:
  order: 1
  selector: role == 'server'
  ingress: [{action: Deny, source: {selector: biz_type == 'bookstore'}}]
`, "apply", "-f", "-")
	args := []string{"policy", "explain", "--from", "bookstore-frontend", "--to", "bookstore-server", "--port", "80"}
	r := e.runCode(t, cli.ExitOK, "", args...)
	if !strings.Contains(r.stdout, "Verdict:  ALLOWED") || !strings.Contains(r.stdout, "Staged:   would be DENIED (ingress denied by policy StagedGlobalNetworkPolicy/deny-frontend rule 0)") {
		t.Fatalf("staged verdict:\n%s", r.stdout)
	}
	e.mustRun(t, "", "delete", "sgnp", "deny-frontend")
	e.mustRun(t, `apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 10}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.pass-servers}
spec: {tier: security, selector: role == 'server', ingress: [{action: Pass, protocol: TCP}]}
`, "apply", "-f", "-")
	r = e.runCode(t, cli.ExitOK, "", args...)
	if !strings.Contains(r.stdout, "security.pass-servers") || !strings.Contains(r.stdout, "rule 0: Pass") || !strings.Contains(r.stdout, "allowed by policy NetworkPolicy/default/allow-bookstore-cliient-to-server") {
		t.Fatalf("pass to the next tier:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "Staged:") {
		t.Fatalf("no staged policy is left:\n%s", r.stdout)
	}
	r = e.runCode(t, cli.ExitDenied, "", "policy", "explain", "--from", "bookstore-frontend", "--to", "bookstore-server", "--protocol", "udp", "--port", "80")
	if !strings.Contains(r.stdout, "tier security") || !strings.Contains(r.stdout, "end of tier drop") {
		t.Fatalf("end of tier drop:\n%s", r.stdout)
	}
}

// TestExplainNetworkSet: a GlobalNetworkSet admits its CIDR by label.
func TestExplainNetworkSet(t *testing.T) {
	e := operatorEnv(t)
	e.mustRun(t, `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: partners, labels: {role: partner}}
spec: {nets: [198.51.100.0/24]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: partners-to-server}
spec:
  order: 1
  selector: role == 'server'
  ingress: [{action: Allow, protocol: TCP, source: {selector: role == 'partner'}, destination: {ports: [443]}}]
`, "apply", "-f", "-")
	r := e.runCode(t, cli.ExitOK, "", "policy", "explain", "--from", "198.51.100.9", "--to", "bookstore-server", "--port", "443")
	if !strings.Contains(r.stdout, "allowed by policy GlobalNetworkPolicy/partners-to-server rule 0") {
		t.Fatalf("network set:\n%s", r.stdout)
	}
	e.runCode(t, cli.ExitDenied, "", "policy", "explain", "--from", "198.51.101.9", "--to", "bookstore-server", "--port", "443")
}

// Traffic to link-local addresses, to the workload's gateway and to its own
// host gets the verdict the dataplane applies after policy.
func TestExplainHostAndLinkLocal(t *testing.T) {
	e := operatorEnv(t)
	node := "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: host1}\nspec:\n  bgp: {ipv4Address: 192.0.2.10/24}\n"
	e.mustRun(t, node, "apply", "-f", "-")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--to", "169.254.1.1", "--port", "80"}, cli.ExitDenied, "is the workload's gateway, its own host (node host1) and endpoint_to_host_action is Drop"},
		{[]string{"--to", "169.254.1.2", "--port", "80", "--endpoint-to-host-action", "Accept"}, cli.ExitOK, "gateway, its own host (node host1), and endpoint_to_host_action Accept"},
		{[]string{"--to", "169.254.169.254", "--port", "80"}, cli.ExitDenied, "never leaves the host"},
		{[]string{"--to", "169.254.2.1", "--port", "80"}, cli.ExitDenied, "never leaves the host"},
		{[]string{"--to", "192.0.2.10", "--protocol", "icmp"}, cli.ExitDenied, "endpoint_to_host_action is Drop"},
		{[]string{"--to", "192.0.2.10", "--protocol", "icmp", "--endpoint-to-host-action", "Accept"}, cli.ExitOK, "endpoint_to_host_action Accept"},
		{[]string{"--to", "192.0.2.11", "--protocol", "icmp"}, cli.ExitOK, "ALLOWED"},
	} {
		r := e.runCode(t, tc.code, "", append([]string{"policy", "explain", "--from", "bookstore-server"}, tc.args...)...)
		if !strings.Contains(r.stdout, tc.want) {
			t.Errorf("explain %v: output lacks %q:\n%s", tc.args, tc.want, r.stdout)
		}
	}
	e.runCode(t, cli.ExitFailure, "", "policy", "explain", "--from", "bookstore-server", "--to", "192.0.2.10", "--protocol", "icmp", "--endpoint-to-host-action", "Maybe")
}
