package calicoctl

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clustercmd "github.com/calico-docker/calico-libnetwork/calicoctl/cluster"
	"github.com/calico-docker/calico-libnetwork/cluster"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// secureEnv runs calicoctl as root on a member would: the node's
// certificate found through CALICO_DATA_DIR.
func secureEnv(e *testenv.SecureEtcd) map[string]string {
	return map[string]string{"ETCD_ENDPOINTS": e.Endpoints[0], "CALICO_DATA_DIR": e.DataDir}
}

func TestClusterTokenIsStoredHashedAndRevocable(t *testing.T) {
	e := testenv.StartSecureEtcd(t, embedded.Maintenance{})
	env := secureEnv(e)
	r := runCLI("", env, "--config", "", "cluster", "token", "--ttl", "10m")
	if r.code != 0 {
		t.Fatalf("cluster token: %v", r)
	}
	tok, err := cluster.ParseToken(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatalf("printed token does not parse: %v\n%v", err, r)
	}
	if !strings.Contains(r.stderr, "CALICO_JOIN_TOKEN") || !strings.Contains(r.stderr, "loopback only") {
		t.Errorf("hint on stderr: %q", r.stderr)
	}
	snap := dumpSecure(t, e)
	for k, v := range snap {
		if strings.Contains(v, tok.Secret) {
			t.Fatalf("key %s holds the token's secret in clear", k)
		}
	}
	if r := runCLI("", env, "--config", "", "cluster", "tokens"); r.code != 0 || !strings.Contains(r.stdout, tok.ID) {
		t.Fatalf("token list: %v", r)
	}
	if r := runCLI("", env, "--config", "", "cluster", "revoke-token", tok.ID); r.code != 0 {
		t.Fatalf("revoke: %v", r)
	}
	if r := runCLI("", env, "--config", "", "cluster", "tokens"); r.code != 0 || strings.Contains(r.stdout, tok.ID) {
		t.Fatalf("token list after revoke: %v", r)
	}
	if r := runCLI("", env, "--config", "", "cluster", "revoke-token", tok.ID); r.code != 1 || !strings.Contains(r.stderr, "unknown, revoked or expired") {
		t.Fatalf("second revoke: %v", r)
	}
	if r := runCLI("", env, "--config", "", "cluster", "token", "--ttl", "48h"); r.code == 0 || !strings.Contains(r.stderr, "--ttl") {
		t.Fatalf("ttl too long: %v", r)
	}
}

func dumpSecure(t *testing.T, e *testenv.SecureEtcd) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{Endpoints: e.Endpoints, CACertFile: e.Files.CA, CertFile: e.Files.Cert, KeyFile: e.Files.Key})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, "", clientv3.WithFromKey())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

func TestClusterStatusSingleMember(t *testing.T) {
	e := testenv.StartSecureEtcd(t, embedded.Maintenance{})
	env := secureEnv(e)
	r := runCLI("", env, "--config", "", "cluster", "status")
	if r.code != 0 || !strings.Contains(r.stdout, "leader") || !strings.Contains(r.stdout, "healthy") {
		t.Fatalf("cluster status: %v", r)
	}
	r = runCLI("", env, "--config", "", "cluster", "status", "-o", "json")
	var rep clustercmd.Report
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rep) != nil || len(rep.Members) != 1 || rep.Members[0].DBSize == 0 {
		t.Fatalf("cluster status -o json: %v", r)
	}
	if r := runCLI("", env, "--config", "", "cluster", "remove-member", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "members are calico-test") {
		t.Fatalf("remove unknown member: %v", r)
	}
}

// A full database shows as an alarm in cluster status (exit 1); one
// maintenance round clears it.
func TestClusterStatusShowsNoSpace(t *testing.T) {
	m := embedded.Maintenance{QuotaBytes: 4 << 20, CheckInterval: time.Hour}
	e := testenv.StartSecureEtcd(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{Endpoints: e.Endpoints, CACertFile: e.Files.CA, CertFile: e.Files.Cert, KeyFile: e.Files.Key})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	val := strings.Repeat("x", 200<<10)
	for i := 0; i < 200; i++ {
		if _, err := cli.Put(ctx, "/calico/big", val); err != nil {
			break
		}
	}
	env := secureEnv(e)
	r := runCLI("", env, "--config", "", "cluster", "status")
	if r.code != 1 || !strings.Contains(r.stdout, "ALARM: etcd's database reached its quota (NOSPACE alarm)") {
		t.Fatalf("cluster status with NOSPACE: %v", r)
	}
	if err := e.Server.Maintain(m); err != nil {
		t.Fatal(err)
	}
	if r := runCLI("", env, "--config", "", "cluster", "status"); r.code != 0 || strings.Contains(r.stdout, "ALARM") {
		t.Fatalf("cluster status after recovery: %v", r)
	}
}

// Backup, then restore into a fresh single member: the data is all there.
func TestBackupAndRestore(t *testing.T) {
	e := testenv.StartSecureEtcd(t, embedded.Maintenance{})
	env := secureEnv(e)
	if r := runCLI(goodPool, env, "--config", "", "apply", "-f", "-"); r.code != 0 {
		t.Fatalf("apply: %v", r)
	}
	before := dumpSecure(t, e)
	file := filepath.Join(t.TempDir(), "calico.db")
	if r := runCLI("", env, "--config", "", "datastore", "backup", file); r.code != 0 {
		t.Fatalf("backup: %v", r)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() == 0 {
		t.Fatalf("backup file: %v %v", st, err)
	}
	if r := runCLI("", env, "--config", "", "datastore", "backup", filepath.Join(t.TempDir(), "no", "dir", "x.db")); r.code != 1 ||
		!strings.Contains(r.stderr, "backup") {
		t.Fatalf("backup into a missing directory: %v", r)
	}
	// The fresh member reuses the PKI (same data dir layout, new etcd).
	e.Server.Close()
	if err := os.RemoveAll(filepath.Join(e.DataDir, "etcd")); err != nil {
		t.Fatal(err)
	}
	ports := testenv.FreePorts(t, 2)
	cfg := embedded.Config{DataDir: e.DataDir, Name: "restored", ClientPort: ports[0], PeerPort: ports[1], TLS: &e.Files, Quiet: true, UnsafeNoFsync: true}
	if err := embedded.Restore(cfg, file); err != nil {
		t.Fatal(err)
	}
	if err := embedded.Restore(cfg, file); err == nil || !strings.Contains(err.Error(), "already holds an etcd member") {
		t.Fatalf("restore over a member: %v", err)
	}
	s, err := embedded.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	restored := &testenv.SecureEtcd{Server: s, Endpoints: s.Endpoints, DataDir: e.DataDir, Files: e.Files}
	after := dumpSecure(t, restored)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("key %s after restore: %q, want %q", k, after[k], v)
		}
	}
	r := runCLI("", secureEnv(restored), "--config", "", "get", "ippools")
	if r.code != 0 || !strings.Contains(r.stdout, "good-pool") {
		t.Fatalf("get ippools after restore: %v", r)
	}
}
