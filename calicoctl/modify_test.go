package calicoctl

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestPatch(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	wantOK(t, e.run(t, "", "patch", "ippool", "net2", "-p", `{"spec":{"natOutgoing":true,"nodeSelector":null}}`), "Successfully patched 1 'IPPool' resource")
	got := e.mustRun(t, "", "get", "ippool", "net2", "-o", "yaml").stdout
	if !strings.Contains(got, "natOutgoing: true") || !strings.Contains(got, "nodeSelector: all()") || !strings.Contains(got, "ipipMode: CrossSubnet") {
		t.Fatalf("patch not merged (null resets to the default, other fields kept):\n%s", got)
	}
	wantOK(t, e.run(t, "", "patch", "felixconfig", "default", "-p", "spec: {logSeverityScreen: Debug}"), "patched")
	// calicoctl's --type values; its documentation's example gives --type json an object.
	wantOK(t, e.run(t, "", "patch", "felixconfig", "default", "--type", "json", "-p", `{"spec":{"logSeverityScreen":"Info"}}`), "patched")
	wantOK(t, e.run(t, "", "patch", "felixconfig", "default", "-t", "merge", "-p", `{"spec":{"logSeverityScreen":"Debug"}}`), "patched")
	wantOK(t, e.run(t, "", "patch", "np", "security.allow-api", "-n", "team-a", "-p", `{"spec":{"order":5}}`), "patched")
	if got := e.mustRun(t, "", "get", "np", "-n", "team-a", "-o", "wide").stdout; !strings.Contains(got, "security   5") {
		t.Fatalf("order not patched:\n%s", got)
	}
	before := e.snapshot(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"patch", "ippool", "net2", "-p", `{"spec":{"natOutgoin":true}}`}, "spec.natOutgoin: is not a field of IPPool"},
		{[]string{"patch", "ippool", "net2", "-p", `{"spec":{"cidr":"10.1.0.0/33"}}`}, "spec.cidr"},
		{[]string{"patch", "ippool", "net2", "-p", `{"metadata":{"name":"x"}}`}, "metadata.name cannot be patched"},
		{[]string{"patch", "ippool", "net2", "-p", `{"spec":{"natOutgoing":true,"natOutgoing":false}}`}, "already set"},
		{[]string{"patch", "ippool", "net2", "-p", `[1]`}, "give the change as an object"},
		{[]string{"patch", "ippool", "net2", "-p", `"x"`}, "must be an object"},
		{[]string{"patch", "ippool", "net2", "--type", "json", "-p", `[{"op":"replace","path":"/spec/disabled","value":true}]`}, "RFC 6902) is not supported"},
		{[]string{"patch", "ippool", "net2", "-t", "bogus", "-p", `{}`}, `--type "bogus": use strategic (the default), merge or json`},
		{[]string{"patch", "ippool", "nosuch", "-p", `{}`}, `IPPool "nosuch" not found`},
		{[]string{"patch", "ippool", "net2"}, "give the patch with -p"},
		{[]string{"patch", "tier", "default", "-p", `{"spec":{"order":1}}`}, "not found"},
	} {
		wantFail(t, e.run(t, "", tc.args...), tc.want)
	}
	e.assertUnchanged(t, before)
}

func TestLabel(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	wantOK(t, e.run(t, "", "label", "hostendpoint", "host1-eth0", "env=prod"), "Successfully set label env on hostendpoint host1-eth0")
	wantOK(t, e.run(t, "", "label", "hep", "host1-eth0", "env=prod"), "Successfully set label env") // same value: no-op success
	before := e.snapshot(t)
	wantFail(t, e.run(t, "", "label", "hep", "host1-eth0", "env=dev"), "already has label env=prod: pass --overwrite")
	wantFail(t, e.run(t, "", "label", "hep", "host1-eth0", "bad key=x"), "is not valid")
	wantFail(t, e.run(t, "", "label", "hep", "host1-eth0", "nokey", "--remove=true", "--overwrite"), `has no label "nokey"`)
	wantFail(t, e.run(t, "", "label", "hep", "host1-eth0", "env"), "give KEY=VALUE")
	wantFail(t, e.run(t, "", "label", "hep", "nosuch", "a=b"), "not found")
	e.assertUnchanged(t, before)
	wantOK(t, e.run(t, "", "label", "hep", "host1-eth0", "env=dev", "--overwrite"), "Successfully set label env")
	wantOK(t, e.run(t, "", "label", "wep", "host2-libnetwork-aaaaaaaaaaaa", "-n", "team-a", "tier=api"), "Successfully set label tier")
	wantOK(t, e.run(t, "", "label", "hep", "host1-eth0", "env", "--remove"), "Successfully removed label env")
	got := e.mustRun(t, "", "get", "hep", "host1-eth0", "-o", "yaml").stdout
	if strings.Contains(got, "env:") || !strings.Contains(got, "role: k8s-worker") {
		t.Fatalf("labels wrong after remove:\n%s", got)
	}
}

func TestValidateCommand(t *testing.T) {
	// No datastore: validate never connects.
	r := runCLI("", nil, "--etcd-endpoints", "http://127.0.0.1:1", "validate", "-f", "../resources/testdata/calico-docs")
	if r.code != 0 || !strings.Contains(r.stdout, "Successfully validated") {
		t.Fatalf("the documentation examples should validate: %v", r)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(goodPool), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "b.json"), []byte(`[{"apiVersion":"projectcalico.org/v3","kind":"Tier","metadata":{"name":"t"},"spec":{"defaultAction":"Allow"}}]`), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a manifest"), 0o644)
	r = runCLI("", nil, "validate", "-f", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "resource 2") || !strings.Contains(r.stderr, "spec.defaultAction") || strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("want the bad Tier in sub/b.json reported: %v", r)
	}
	if r := runCLI("", nil, "validate"); r.code != 1 {
		t.Fatalf("validate without -f: %v", r)
	}
}

// TestFileFlagsOfCalicoctl: calicoctl's -R/--recursive is accepted (a
// directory is always read recursively) and --skip-empty skips files
// without resources, which otherwise fail naming the file.
func TestFileFlagsOfCalicoctl(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(goodPool), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "empty.yaml"), []byte("# nothing yet\n---\n"), 0o644)
	r := runCLI("", nil, "validate", "-f", dir, "-R")
	if r.code != 1 || !strings.Contains(r.stderr, "empty.yaml") || !strings.Contains(r.stderr, "no resources found") {
		t.Fatalf("an empty file without --skip-empty: %v", r)
	}
	for _, args := range [][]string{{"-R", "--skip-empty"}, {"--recursive", "--skip-empty"}, {"--skip-empty"}} {
		r := runCLI("", nil, append([]string{"validate", "-f", dir}, args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "Successfully validated 1 resource(s)") {
			t.Errorf("%v: %v", args, r)
		}
	}
	for _, verb := range []string{"apply", "create", "replace", "delete", "get"} {
		if r := runCLI("", nil, verb, "--help"); !strings.Contains(r.stdout, "--skip-empty") || !strings.Contains(r.stdout, "-R, --recursive") {
			t.Errorf("%s lacks -R or --skip-empty:\n%s", verb, r.stdout)
		}
	}
}

func TestApplyDirectory(t *testing.T) {
	e := startEtcd(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tiers"), 0o755)
	os.WriteFile(filepath.Join(dir, "pool.yaml"), []byte(goodPool), 0o644)
	os.WriteFile(filepath.Join(dir, "tiers", "t.yml"), []byte("- apiVersion: projectcalico.org/v3\n  kind: Tier\n  metadata: {name: security}\n  spec: {order: 300}\n"), 0o644)
	wantOK(t, e.run(t, "", "apply", "-f", dir), "Successfully applied 2")
	if got := e.mustRun(t, "", "get", "tiers").stdout; !strings.Contains(got, "security   300") {
		t.Fatalf("tier not stored:\n%s", got)
	}
}

func TestVersionShowsCluster(t *testing.T) {
	e := startEtcd(t)
	r := e.mustRun(t, "", "version")
	if !strings.Contains(r.stdout, "Cluster Version:   unknown") || !strings.Contains(r.stderr, "ClusterInformation") {
		t.Fatalf("without ClusterInformation: %v", r)
	}
	loadAllKinds(t, e)
	r = e.mustRun(t, "", "version")
	if !strings.Contains(r.stdout, "Client Version:") || !strings.Contains(r.stdout, "Cluster Version:   v3.28.0") || !strings.Contains(r.stdout, "Cluster Type:      docker,bgp") {
		t.Fatalf("version: %v", r)
	}
	// calicoctl's lines and alignment; the build's own values vary.
	checkGolden(t, "version_cluster", buildValuesRE.ReplaceAllString(r.stdout, "$1<build>"))
}

var buildValuesRE = regexp.MustCompile(`(?m)^((?:Client Version|Git commit|Go version): +).*$`)

func TestGetCustomOutputs(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	checkGolden(t, "get_ippools_custom_columns", e.mustRun(t, "", "get", "ippools", "-o", "custom-columns=NAME,CIDR,DISABLEBGPEXPORT").stdout)
	checkGolden(t, "get_ippools_custom_paths", e.mustRun(t, "", "get", "ippools", "-o", "custom-columns=NAME:.metadata.name,BLOCK:.spec.blockSize,USES:.spec.allowedUses[0],NOPE:.spec.nope").stdout)
	checkGolden(t, "get_weps_all_namespaces", e.mustRun(t, "", "get", "weps", "-A").stdout)
	checkGolden(t, "get_policies_all_namespaces_wide", e.mustRun(t, "", "get", "networkpolicies", "--all-namespaces", "-o", "wide").stdout)
	got := e.mustRun(t, "", "get", "ippools", "-o", `go-template={{range .}}{{.ObjectMeta.Name}} {{.Spec.CIDR}}{{"\n"}}{{end}}`).stdout
	if got != "default-ipv4-ippool 192.168.0.0/16\ndefault-ipv6-ippool fd00:10::/64\nnet2 10.1.0.0/16\n" {
		t.Fatalf("go-template:\n%s", got)
	}
	if got := e.mustRun(t, "", "get", "ippool", "net2", "-o", "go-template={{.Spec.IPIPMode}}").stdout; got != "CrossSubnet" {
		t.Fatalf("go-template on one object: %q", got)
	}
	wantFail(t, e.run(t, "", "get", "ippools", "-o", "custom-columns=NAME,COLOUR"), "IPPool has no column COLOUR")
	wantFail(t, e.run(t, "", "get", "ippools", "-o", "go-template={{.Nope"), "does not parse")
	wantFail(t, e.run(t, "", "get", "ippools", "-o", "custom-columns="), "needs columns")
	if got := e.mustRun(t, "", "get", "networksets", "-n", "team-a").stdout; !strings.Contains(got, "partners") {
		t.Fatalf("-n team-a:\n%s", got)
	}
	if got := e.mustRun(t, "", "get", "networksets").stdout; strings.Contains(got, "partners") {
		t.Fatalf("default namespace shows team-a's set:\n%s", got)
	}
}

func TestTierRules(t *testing.T) {
	e := startEtcd(t)
	pol := "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: sec.p}\nspec: {tier: sec, selector: all()}\n"
	tier := "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: sec}\nspec: {order: 10}\n"
	before := e.snapshot(t)
	wantFail(t, e.run(t, pol, "apply", "-f", "-"), `spec.tier (sec): names a tier that does not exist`)
	e.assertUnchanged(t, before)
	wantOK(t, e.run(t, pol+"---\n"+tier, "apply", "-f", "-"), "Successfully applied 2") // the tier in the same file
	before = e.snapshot(t)
	wantFail(t, e.run(t, "", "delete", "tier", "sec"), `tier "sec" still holds GlobalNetworkPolicy "sec.p"`)
	wantFail(t, e.run(t, "", "patch", "gnp", "sec.p", "-p", `{"spec":{"tier":"nope"}}`), "names a tier that does not exist")
	e.assertUnchanged(t, before)
	wantOK(t, e.run(t, "", "delete", "gnp", "sec.p"), "Successfully deleted 1")
	wantOK(t, e.run(t, "", "delete", "tier", "sec"), "Successfully deleted 1")
	e.mustRun(t, "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: default}\n", "apply", "-f", "-")
	wantFail(t, e.run(t, "", "delete", "tier", "default"), `tier "default" cannot be deleted`)
	wantFail(t, e.run(t, "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: default}\nspec: {order: 5}\n", "apply", "-f", "-"), "fixed at")
}

// TestClusterInformationIsKept: as calicoctl, ClusterInformation cannot
// be deleted (by name or by file); its columns are calicoctl's.
func TestClusterInformationIsKept(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	before := e.snapshot(t)
	wantFail(t, e.run(t, "", "delete", "clusterinformation", "default"), `ClusterInformation "default" cannot be deleted: it holds the cluster's GUID`)
	wantFail(t, e.run(t, "apiVersion: projectcalico.org/v3\nkind: ClusterInformation\nmetadata: {name: default}\n", "delete", "-f", "-"), "datastoreReady: false")
	e.assertUnchanged(t, before)
	if got := e.mustRun(t, "", "get", "clusterinfo", "-o", "custom-columns=CLUSTERTYPE,DATASTOREREADY").stdout; !strings.Contains(got, "docker,bgp    true") {
		t.Errorf("columns:\n%s", got)
	}
}

func TestPatchKeepsPoolRules(t *testing.T) {
	e := startEtcd(t)
	loadAllKinds(t, e)
	before := e.snapshot(t)
	wantFail(t, e.run(t, "", "patch", "ippool", "net2", "-p", `{"spec":{"cidr":"10.2.0.0/16"}}`), "cidr")
	e.assertUnchanged(t, before)
}
