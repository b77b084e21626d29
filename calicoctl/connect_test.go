package calicoctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/spf13/pflag"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "calicoctl.cfg")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConnectionSettings(t *testing.T) {
	e := startEtcd(t)
	e.mustRun(t, goodPool, "apply", "-f", "-")
	unreachable := "http://127.0.0.1:1"
	cfgFile := func(ep string) string {
		return writeConfig(t, "apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nmetadata:\nspec:\n  datastoreType: etcdv3\n  etcdEndpoints: "+ep+"\n")
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"environment", map[string]string{"ETCD_ENDPOINTS": e.endpoint}, []string{"--config", ""}},
		{"flag beats environment", map[string]string{"ETCD_ENDPOINTS": unreachable}, []string{"--config", "", "--etcd-endpoints", e.endpoint}},
		{"config file", nil, []string{"--config", cfgFile(e.endpoint)}},
		{"environment beats config file", map[string]string{"ETCD_ENDPOINTS": e.endpoint}, []string{"-c", cfgFile(unreachable)}},
		{"JSON config file", nil, []string{"--config", writeConfig(t,
			`{"apiVersion":"projectcalico.org/v3","kind":"CalicoAPIConfig","spec":{"etcdEndpoints":"`+e.endpoint+`"}}`)}},
		{"missing default config file is fine", map[string]string{"ETCD_ENDPOINTS": e.endpoint}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI("", tc.env, append(tc.args, "get", "ippools", "-o", "name")...)
			if r.code != 0 || r.stdout != "ippool/good-pool\n" {
				t.Errorf("got %v", r)
			}
		})
	}
}

func TestConnectionErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"explicit config file missing", nil, []string{"--config", "/nonexistent/calicoctl.cfg"}, "config file /nonexistent/calicoctl.cfg"},
		{"config of another kind", nil, []string{"--config", writeConfig(t, "apiVersion: projectcalico.org/v3\nkind: IPPool\n")}, `kind "IPPool": must be CalicoAPIConfig`},
		{"kubernetes datastore in config", nil, []string{"--config", writeConfig(t,
			"apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  datastoreType: kubernetes\n")}, "only etcdv3 is supported"},
		{"unsupported config setting", nil, []string{"--config", writeConfig(t,
			"apiVersion: projectcalico.org/v3\nkind: CalicoAPIConfig\nspec:\n  etcdUsername: bob\n")}, "spec.etcdusername"},
		{"config not YAML", nil, []string{"--config", writeConfig(t, "{{{")}, "not valid YAML or JSON"},
		{"kubernetes datastore in environment", map[string]string{"DATASTORE_TYPE": "kubernetes"}, []string{"--config", ""}, "DATASTORE_TYPE"},
		{"endpoint not a URL", map[string]string{"ETCD_ENDPOINTS": "127.0.0.1:2379"}, []string{"--config", ""}, `etcd endpoint "127.0.0.1:2379" is not a URL`},
		{"cert without key", map[string]string{"ETCD_ENDPOINTS": "https://127.0.0.1:1", "ETCD_CERT_FILE": "/x.pem"}, []string{"--config", ""}, "ETCD_KEY_FILE"},
		{"etcd not running", map[string]string{"ETCD_ENDPOINTS": "http://127.0.0.1:1"}, []string{"--config", ""},
			"cannot reach etcd at http://127.0.0.1:1: is the calico-libnetwork daemon running? set ETCD_ENDPOINTS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI("", tc.env, append(tc.args, "get", "ippools")...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("want exit 1 and %q; got %v", tc.wantErr, r)
			}
		})
	}
}

// Input is checked before etcd is contacted: bad files fail fast and
// clearly even when there is no datastore.
func TestValidationNeedsNoEtcd(t *testing.T) {
	r := runCLI("kind: IPPool\n", map[string]string{"ETCD_ENDPOINTS": "http://127.0.0.1:1"}, "--config", "", "apply", "-f", "-")
	if r.code != 1 || !strings.Contains(r.stderr, "apiVersion") || strings.Contains(r.stderr, "cannot reach etcd") {
		t.Errorf("got %v", r)
	}
}

// Root on a host running the daemon needs no settings: calicoctl finds the
// node's certificate in <data_dir>/pki; without it the TLS etcd refuses.
func TestFindsNodeCertificate(t *testing.T) {
	e := testenv.StartSecureEtcd(t, embedded.Maintenance{})
	env := map[string]string{"ETCD_ENDPOINTS": e.Endpoints[0], "CALICO_DATA_DIR": e.DataDir}
	if r := runCLI(goodPool, env, "--config", "", "apply", "-f", "-"); r.code != 0 {
		t.Fatalf("with the node certificate found in CALICO_DATA_DIR: %v", r)
	}
	env["CALICO_DATA_DIR"] = t.TempDir() // no pki there
	if r := runCLI("", env, "--config", "", "get", "ippools"); r.code != 1 || !strings.Contains(r.stderr, "cannot reach etcd") {
		t.Fatalf("without a certificate: want a refusal, got %v", r)
	}
}

// On a host that joined as a client there is no local member: calicoctl
// uses the members' endpoints the daemon keeps in <data_dir>/cluster.json.
func TestClientHostUsesMembersEndpoints(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cluster.json"), []byte(`{"role":"client","endpoints":["https://10.0.0.1:2379","https://10.0.0.2:2379"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) {
		if k == "CALICO_DATA_DIR" {
			return dir, true
		}
		return "", false
	}
	var c cli.ConnFlags
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	c.Register(fs)
	c.ConfigFile = ""
	cfg, err := c.Resolve(lookup)
	if err != nil || strings.Join(cfg.Endpoints, ",") != "https://10.0.0.1:2379,https://10.0.0.2:2379" {
		t.Fatalf("endpoints %v, err %v", cfg.Endpoints, err)
	}
}
