package testenv

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// EnvEtcdLog, set to a level (debug, info, warn, error), makes embedded
// etcd servers log to stderr; by default they are silent.
const EnvEtcdLog = "CALICO_TEST_ETCD_LOG"

// etcdStartTimeout bounds how long StartEtcd waits for the server to serve.
const etcdStartTimeout = 15 * time.Second

// StartEtcd starts a single-member embedded etcd on 127.0.0.1 with its data
// in t.TempDir() and returns its client endpoints and a connected client.
// t.Cleanup closes the client and stops the server. It needs no root and no
// etcd binary, and starts in well under a second. It is silent unless
// CALICO_TEST_ETCD_LOG is set.
func StartEtcd(t testing.TB) ([]string, *clientv3.Client) {
	t.Helper()
	var (
		e   *embed.Etcd
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
	t.Cleanup(func() {
		e.Close()
		select {
		case <-e.Server.StopNotify():
		case <-time.After(10 * time.Second):
			t.Errorf("embedded etcd did not stop within 10s")
		}
	})
	endpoints := []string{e.Clients[0].Addr().String()}
	for i, ep := range endpoints {
		endpoints[i] = "http://" + ep
	}
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
func startEmbeddedEtcd(dir string) (*embed.Etcd, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[1])}

	cfg := embed.NewConfig()
	cfg.Name = "calico-test"
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	if level := os.Getenv(EnvEtcdLog); level != "" {
		cfg.LogLevel = level
		cfg.LogOutputs = []string{"stderr"}
	} else {
		// Even at level "error" etcd logs a stack per listener on a normal
		// Close; start-up failures still reach the test as errors.
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	}
	cfg.UnsafeNoFsync = true // throwaway data: no need to wait for disks
	// A single member elects itself after one election timeout; keep it short.
	cfg.TickMs = 10
	cfg.ElectionMs = 100

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed while starting: %w", err)
	case <-time.After(etcdStartTimeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd not ready after %v", etcdStartTimeout)
	}
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
