package embedded_test

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/calico-docker/calico-libnetwork/datastore/embedded"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// startTLS starts a member laid out as the daemon's (CA and node
// certificate in its data dir's pki/).
func startTLS(t *testing.T, m embedded.Maintenance) (*embedded.Server, pki.Files) {
	t.Helper()
	e := testenv.StartSecureEtcd(t, m)
	return e.Server, e.Files
}

func client(t *testing.T, eps []string, tlsCfg *tls.Config) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, TLS: tlsCfg, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func TestTLSRequiresClientCertificate(t *testing.T) {
	s, files := startTLS(t, embedded.Maintenance{})
	if !strings.HasPrefix(s.Endpoints[0], "https://127.0.0.1:") {
		t.Fatalf("endpoint %s: want https on loopback", s.Endpoints[0])
	}
	good, err := transport.TLSInfo{CertFile: files.Cert, KeyFile: files.Key, TrustedCAFile: files.CA}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client(t, s.Endpoints, good).Put(ctx, "/k", "v"); err != nil {
		t.Fatalf("client with the node certificate: %v", err)
	}
	// A client that trusts the CA but shows no certificate of its own.
	anon, err := transport.TLSInfo{TrustedCAFile: files.CA}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if _, err := client(t, s.Endpoints, anon).Get(short, "/k"); err == nil {
		t.Fatal("a client without a certificate read from etcd")
	}
	// Plain http to the TLS port.
	plain := "http://" + strings.TrimPrefix(s.Endpoints[0], "https://")
	short2, cancel3 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel3()
	if _, err := client(t, []string{plain}, nil).Put(short2, "/k", "evil"); err == nil {
		t.Fatal("a plain-http client wrote to etcd")
	}
}

func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	ports := testenv.FreePorts(t, 2)
	_, err := embedded.Start(embedded.Config{DataDir: t.TempDir(), ClientHost: "0.0.0.0", ClientPort: ports[0], PeerPort: ports[1], Quiet: true})
	if err == nil || !strings.Contains(err.Error(), "without TLS") {
		t.Fatalf("err = %v, want a refusal naming TLS", err)
	}
}

func TestPKIFilesAreRootOnly(t *testing.T) {
	_, files := startTLS(t, embedded.Maintenance{})
	for _, f := range []string{filepath.Dir(files.CA), files.Key, filepath.Join(filepath.Dir(files.CA), pki.CAKeyFile)} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: group and others must have no access", f, st.Mode().Perm())
		}
	}
}

// TestRecoversFromNoSpace fills a small quota with history until etcd
// raises NOSPACE, then one maintenance round compacts, defragments and
// disarms, and writes succeed again.
func TestRecoversFromNoSpace(t *testing.T) {
	m := embedded.Maintenance{QuotaBytes: 4 << 20, CompactionRetention: time.Hour, CheckInterval: time.Hour}
	s, files := startTLS(t, m)
	tlsCfg, err := transport.TLSInfo{CertFile: files.Cert, KeyFile: files.Key, TrustedCAFile: files.CA}.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cli := client(t, s.Endpoints, tlsCfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	val := strings.Repeat("x", 200<<10)
	var putErr error
	for i := 0; i < 200 && putErr == nil; i++ {
		_, putErr = cli.Put(ctx, "/calico/big", val)
	}
	if putErr == nil || !strings.Contains(putErr.Error(), "space exceeded") {
		t.Fatalf("writes did not hit the quota: %v", putErr)
	}
	if h := s.Health(); !h.NoSpace {
		t.Fatalf("health %+v: want NoSpace", h)
	}
	if err := s.Maintain(m); err != nil {
		t.Fatal(err)
	}
	if h := s.Health(); h.NoSpace || h.DBSize >= m.QuotaBytes/2 {
		t.Fatalf("after maintenance: %+v, want no alarm and a small database", h)
	}
	if _, err := cli.Put(ctx, "/calico/small", "ok"); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
}
