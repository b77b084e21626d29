package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/calico-docker/calico-libnetwork/datastore/embedded"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
)

// EnvEtcdLog, set to a level (debug, info, warn, error), makes embedded
// etcd servers log to stderr; by default they are silent.
const EnvEtcdLog = "CALICO_TEST_ETCD_LOG"

// StartEtcd starts a single-member embedded etcd on 127.0.0.1 with its data
// in t.TempDir() and returns its client endpoints and a connected client.
// t.Cleanup closes the client and stops the server. It needs no root and no
// etcd binary, and starts in well under a second. It is silent unless
// CALICO_TEST_ETCD_LOG is set.
func StartEtcd(t testing.TB) ([]string, *clientv3.Client) {
	t.Helper()
	var (
		e   *embedded.Server
		err error
	)
	// embed cannot listen on port 0, so ports are picked free and then
	// bound again by etcd; another process can take one in between. Such a
	// clash fails fast with EADDRINUSE, so pick new ports and retry.
	for attempt := 0; attempt < 5; attempt++ {
		e, err = startEmbeddedEtcd(t.TempDir())
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Cleanup(e.Close)
	endpoints := e.Endpoints
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		t.Fatalf("etcd client for %v: %v", endpoints, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return endpoints, client
}

// startEmbeddedEtcd starts etcd in dir on two free loopback ports and waits
// until it serves; on failure nothing is left running.
func startEmbeddedEtcd(dir string) (*embedded.Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	return embedded.Start(embedded.Config{
		DataDir: dir, Name: "calico-test", ClientPort: ports[0], PeerPort: ports[1],
		UnsafeNoFsync: true, FastElection: true, // throwaway data, one member
		Quiet: os.Getenv(EnvEtcdLog) == "",
	})
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago. All n listeners are open at once, so the ports differ.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// SecureEtcd is an embedded etcd laid out as the daemon lays its own:
// the cluster CA and the node's certificate in DataDir/pki, https client
// URLs on loopback that demand a client certificate from that CA.
type SecureEtcd struct {
	Server    *embedded.Server
	Endpoints []string
	DataDir   string
	Files     pki.Files // CA, node certificate and key
}

// StartSecureEtcd starts a SecureEtcd with maintenance settings m;
// t.Cleanup stops it.
func StartSecureEtcd(t testing.TB, m embedded.Maintenance) *SecureEtcd {
	t.Helper()
	dir := t.TempDir()
	pdir := pki.Dir(dir)
	ca, _, err := pki.LoadOrCreateCA(pdir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := pki.EnsureNodeCert(pdir, ca, "calico-test", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	files := pki.NodeFiles(pdir)
	var s *embedded.Server
	for attempt := 0; attempt < 5; attempt++ {
		var ports []int
		if ports, err = freePorts(2); err != nil {
			break
		}
		s, err = embedded.Start(embedded.Config{
			DataDir: dir, Name: "calico-test", ClientPort: ports[0], PeerPort: ports[1], TLS: &files,
			UnsafeNoFsync: true, FastElection: true, Quiet: os.Getenv(EnvEtcdLog) == "", Maintenance: m,
		})
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		t.Fatalf("start embedded etcd with TLS: %v", err)
	}
	t.Cleanup(s.Close)
	return &SecureEtcd{Server: s, Endpoints: s.Endpoints, DataDir: dir, Files: files}
}

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago (for servers that cannot listen on port 0, like etcd).
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, err := freePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}
