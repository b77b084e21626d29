package calicoctl

import (
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// loadAllKinds stores testdata/all-kinds.yaml and the seed's policy.
func loadAllKinds(t *testing.T, e *etcdEnv) {
	t.Helper()
	e.mustRun(t, "", "apply", "-f", "testdata/all-kinds.yaml")
	e.mustRun(t, "", "apply", "-f", "testdata/seed-policy-bookstore.yaml")
}

func TestGetGolden(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	for _, k := range resources.Kinds() {
		for _, format := range []string{"table", "wide", "yaml", "json", "name"} {
			t.Run(k.Plural+"/"+format, func(t *testing.T) {
				r := e.mustRun(t, "", "get", k.Plural, "-o", format)
				if r.stderr != "" {
					t.Errorf("stderr: %s", r.stderr)
				}
				checkGolden(t, "get_"+k.Plural+"_"+format, r.stdout)
			})
		}
	}
	t.Run("default format is table", func(t *testing.T) {
		a, b := e.mustRun(t, "", "get", "ippools"), e.mustRun(t, "", "get", "ippools", "-o", "table")
		if a.stdout != b.stdout {
			t.Errorf("get without -o:\n%s\nwith -o table:\n%s", a.stdout, b.stdout)
		}
	})
	t.Run("one name prints the bare object", func(t *testing.T) {
		checkGolden(t, "get_ippool_one_yaml", e.mustRun(t, "", "get", "ippool", "net2", "-o", "yaml").stdout)
		checkGolden(t, "get_ippool_one_json", e.mustRun(t, "", "get", "ippool", "net2", "-o", "json").stdout)
	})
	t.Run("several names print a List in the order given", func(t *testing.T) {
		checkGolden(t, "get_ippool_two_yaml", e.mustRun(t, "", "get", "ippool", "net2", "default-ipv4-ippool", "-o", "yaml").stdout)
	})
	t.Run("empty kind prints the header or an empty List", func(t *testing.T) {
		e.mustRun(t, "", "delete", "gnp", "deny-egress-metadata")
		checkGolden(t, "get_empty_table", e.mustRun(t, "", "get", "gnp").stdout)
		checkGolden(t, "get_empty_yaml", e.mustRun(t, "", "get", "gnp", "-o", "yaml").stdout)
	})
}

func TestGetAliases(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	for _, k := range resources.Kinds() {
		want := e.mustRun(t, "", "get", k.Plural, "-o", "yaml").stdout
		for _, alias := range append([]string{k.Kind, strings.ToUpper(k.Plural)}, k.Aliases...) {
			if got := e.mustRun(t, "", "get", alias, "-o", "yaml").stdout; got != want {
				t.Errorf("get %s differs from get %s:\n%s\nwant\n%s", alias, k.Plural, got, want)
			}
		}
	}
}

func TestGetErrors(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	tests := []struct {
		name       string
		args       []string
		wantStdout string // substring, may be empty
		wantErr    string
	}{
		{"missing name", []string{"get", "ippool", "nope"}, "", `IPPool "nope" not found`},
		{"one found one missing", []string{"get", "ippool", "net2", "nope", "-o", "name"}, "ippool/net2", `IPPool "nope" not found`},
		{"unknown kind", []string{"get", "bogus"}, "", `unknown resource kind "bogus"`},
		{"no kind", []string{"get"}, "", "give a kind"},
		{"bad output", []string{"get", "ippools", "-o", "xml"}, "", `output format "xml" is not supported`},
		{"bad namespace", []string{"get", "wep", "-n", "Kube_System"}, "", `-n "Kube_System" is not a valid namespace`},
		{"both file and kind", []string{"get", "ippools", "-f", "testdata/all-kinds.yaml"}, "", "not both"},
		{"bad name", []string{"get", "ippool", "a/b"}, "", "contains '/'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(t, "", tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.wantErr) || !strings.Contains(r.stdout, tc.wantStdout) {
				t.Errorf("want exit 1, stdout with %q, stderr with %q; got %v", tc.wantStdout, tc.wantErr, r)
			}
		})
	}
}

func TestGetNamespaceDefault(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	a := e.mustRun(t, "", "get", "networkpolicies", "-n", "default")
	b := e.mustRun(t, "", "get", "networkpolicies")
	if a.stdout != b.stdout || !strings.Contains(a.stdout, "allow-bookstore-cliient-to-server") {
		t.Errorf("-n default:\n%s\nwithout -n:\n%s", a.stdout, b.stdout)
	}
}

func TestGetFromFile(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	r := e.mustRun(t, "", "get", "-f", "testdata/all-kinds.yaml", "-o", "name")
	checkGolden(t, "get_file_name", r.stdout)
	r = e.mustRun(t, "", "get", "-f", "testdata/all-kinds.yaml")
	checkGolden(t, "get_file_table", r.stdout)
}

// TestGetWideTruncatesLongLists: as calicoctl does (joinAndTruncate at 80
// characters), a long NETS or CIDRS column ends in "..." at 80.
func TestGetWideTruncatesLongLists(t *testing.T) {
	e := startEtcd(t)
	e.mustRun(t, `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: many}
spec: {nets: [10.0.0.0/24, 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.4.0/24, 10.0.5.0/24, 10.0.6.0/24, 10.0.7.0/24]}
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata: {name: many, namespace: staging}
spec: {nets: [10.0.0.0/24, 10.0.1.0/24, 10.0.2.0/24, 10.0.3.0/24, 10.0.4.0/24, 10.0.5.0/24, 10.0.6.0/24, 10.0.7.0/24]}
`, "apply", "-f", "-")
	got := e.mustRun(t, "", "get", "globalnetworksets", "-o", "wide").stdout +
		e.mustRun(t, "", "get", "networksets", "-A", "-o", "wide").stdout
	checkGolden(t, "get_netsets_truncated_wide", got)
}
