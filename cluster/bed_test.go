package cluster_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// converge bounds every wait of the bed tests.
const converge = 60 * time.Second

func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	testenv.Eventually(t, converge, 200*time.Millisecond, func() error {
		if err := cond(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// TestThreeHostsFormAClusterByToken: in the multi-host bed (hosts in
// namespaces, a daemon each, embedded etcd), host1 starts the cluster and
// host2 and host3 join by token as voters; a workload on host3 reaches
// one on host1; host2 is killed and IPAM and policy updates still work; a
// client without a certificate (plain etcdctl from the LAN namespace) can
// neither read nor write; a revoked token is refused with a clear error,
// and a fourth host joins as a client with a good one.
func TestThreeHostsFormAClusterByToken(t *testing.T) {
	testenv.RequireTools(t, "etcdctl")
	b := startJoinBed(t, testbed.HostConfig{Name: "host1"}, testbed.HostConfig{Name: "host2"},
		testbed.HostConfig{Name: "host3"}, testbed.HostConfig{Name: "host4", Manual: true})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	checkMembers(ctx, t, b, 3)

	netw, err := b.CreateNetworkOn(b.Hosts[:3], "joined", netip.Prefix{}, "") // host4 joins later
	if err != nil {
		t.Fatal(err)
	}
	w1 := addWorkload(t, b.Host("host1"), netw)
	w3 := addWorkload(t, b.Host("host3"), netw)
	eventually(t, "host3's workload reaches host1's", func() error { return w3.NS.Ping(w1.IP) })

	noCertificateRefused(t, b)

	if err := b.Host("host2").Kill(); err != nil {
		t.Fatal(err)
	}
	// IPAM (a new workload's address) and policy still work with 2 of 3.
	w3b := addWorkload(t, b.Host("host3"), netw)
	pol := resources.NewNetworkPolicy("deny-to-w1")
	pol.Spec.Selector = "all()"
	pol.Spec.Types = []string{"Ingress"}
	if _, err := b.Store.Apply(ctx, pol); err != nil {
		t.Fatalf("policy update with host2 dead: %v", err)
	}
	eventually(t, "policy applied on host1 with host2 dead", func() error {
		if err := w3b.NS.Ping(w1.IP); err == nil {
			return fmt.Errorf("%s still reaches %s", w3b.Name, w1.Name)
		}
		return nil
	})

	joinFourthHost(ctx, t, b)
}

// startJoinBed starts a Join bed of hosts; t.Cleanup closes it (and
// logs the daemons' last lines when the test failed).
func startJoinBed(t *testing.T, hosts ...testbed.HostConfig) *testbed.Bed {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "ip", "ping")
	bin, err := testbed.BuildDaemon(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := testbed.Start(testbed.Config{Daemon: bin, Join: true, Hosts: hosts})
	if err != nil {
		t.Fatalf("bed: %v", err) // Start closed what it made; err has the daemons' last lines
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range b.Hosts {
				t.Logf("%s log:\n%s", h.Name, h.LogTail(40))
			}
		}
		if err := b.Close(); err != nil {
			t.Errorf("close the bed: %v", err)
		}
	})
	return b
}

func addWorkload(t *testing.T, h *testbed.Host, n *testbed.Network) *testbed.Workload {
	t.Helper()
	w, err := h.AddWorkload(n, nil)
	if err != nil {
		t.Fatalf("workload on %s: %v", h.Name, err)
	}
	t.Cleanup(func() { _ = w.Remove() })
	return w
}

// checkMembers waits for n healthy voters with one leader.
func checkMembers(ctx context.Context, t *testing.T, b *testbed.Bed, n int) {
	t.Helper()
	eventually(t, "cluster status", func() error {
		cs, err := b.Store.ClusterStatus(ctx)
		if err != nil {
			return err
		}
		leaders, healthy := 0, 0
		for _, m := range cs.Members {
			if m.Leader {
				leaders++
			}
			if m.Healthy && !m.Learner {
				healthy++
			}
		}
		if len(cs.Members) != n || healthy != n || leaders != 1 {
			return fmt.Errorf("%d members, %d healthy voters, %d leaders: %+v", len(cs.Members), healthy, leaders, cs.Members)
		}
		return nil
	})
}

// noCertificateRefused: etcdctl from the LAN, with no client certificate
// (TLS without verification, and plain http), neither reads nor writes.
func noCertificateRefused(t *testing.T, b *testbed.Bed) {
	t.Helper()
	ep := "https://" + b.Host("host1").IP.Addr().String() + ":2379"
	for _, args := range [][]string{
		{"--endpoints", ep, "--insecure-transport=false", "--insecure-skip-tls-verify", "get", "/calico", "--prefix", "--keys-only"},
		{"--endpoints", ep, "--insecure-transport=false", "--insecure-skip-tls-verify", "put", "/calico/evil", "x"},
		{"--endpoints", strings.Replace(ep, "https", "http", 1), "put", "/calico/evil", "x"},
	} {
		full := append([]string{"netns", "exec", b.LAN.Name, "etcdctl", "--dial-timeout=2s", "--command-timeout=3s"}, args...)
		cmd := exec.Command("ip", full...)
		cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("etcdctl without a certificate succeeded: %v\n%s", args, out)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if kvs, err := b.Store.Client().Get(ctx, "/calico/evil"); err != nil || len(kvs.Kvs) != 0 {
		t.Fatalf("/calico/evil: %v %v", kvs, err)
	}
}

// joinFourthHost: a revoked token is refused with a clear error; a good
// one makes host4 a client (3 voters already), which then allocates.
func joinFourthHost(ctx context.Context, t *testing.T, b *testbed.Bed) {
	t.Helper()
	h4 := b.Host("host4")
	revoked, err := b.JoinToken(10 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Split(revoked, "-")[1]
	if err := b.Store.RevokeJoinToken(ctx, id); err != nil {
		t.Fatal(err)
	}
	first := "CALICO_JOIN_ADDRESS=" + b.Host("host1").IP.Addr().String()
	h4.SetEnv("CALICO_JOIN_TOKEN="+revoked, first)
	err = h4.Start()
	if err == nil || !strings.Contains(err.Error(), "is unknown, revoked or expired") {
		t.Fatalf("host4 with a revoked token: %v", err)
	}
	good, err := b.JoinToken(10 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	h4.SetEnv("CALICO_JOIN_TOKEN=" + good)
	if err := h4.Start(); err != nil {
		t.Fatalf("host4 with a good token: %v", err)
	}
	ms, err := b.Store.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "host4" {
			t.Fatalf("host4 became a member (%+v); want a client: the cluster has 3 voters", m)
		}
	}
	n, err := b.CreateNetworkOn([]*testbed.Host{h4}, "joined4", netip.Prefix{}, "")
	if err != nil {
		t.Fatalf("network on the client host4: %v", err)
	}
	addWorkload(t, h4, n)
}

// TestBackupWipeRestoreRejoin: a two-host cluster with a pool, a policy and
// workloads is backed up; every host is stopped and wiped; the first is
// restored from the snapshot as a fresh single member and the second
// joins it with a new token; pools, policies, endpoints and IPAM
// allocations are all there.
func TestBackupWipeRestoreRejoin(t *testing.T) {
	b := startJoinBed(t, testbed.HostConfig{Name: "host1"}, testbed.HostConfig{Name: "host2"})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	netw, err := b.CreateNetwork("kept", netip.Prefix{}, "")
	if err != nil {
		t.Fatal(err)
	}
	addWorkload(t, b.Host("host1"), netw)
	addWorkload(t, b.Host("host2"), netw)
	pol := resources.NewNetworkPolicy("kept-policy")
	pol.Spec.Selector = "all()"
	if _, err := b.Store.Apply(ctx, pol); err != nil {
		t.Fatal(err)
	}
	before := keptKeys(ctx, t, b)
	snap := filepath.Join(t.TempDir(), "calico.db")
	f, err := os.OpenFile(snap, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store.Snapshot(ctx, f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	for _, h := range b.Hosts {
		if err := h.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	h1, h2 := b.Host("host1"), b.Host("host2")
	wipe(t, h1.DataDir, "etcd", "cluster.json") // keep the CA
	wipe(t, h2.DataDir, "etcd", "pki", "cluster.json")
	h1.SetEnv("CALICO_ETCD_RESTORE_SNAPSHOT=" + snap)
	if err := h1.Start(); err != nil {
		t.Fatal(err)
	}
	if err := b.ConnectCluster(h1); err != nil {
		t.Fatal(err)
	}
	tok, err := b.JoinToken(10 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	h2.SetEnv("CALICO_JOIN_TOKEN="+tok, "CALICO_JOIN_ADDRESS="+h1.IP.Addr().String())
	if err := h2.Start(); err != nil {
		t.Fatal(err)
	}
	checkMembers(ctx, t, b, 2)
	after := keptKeys(ctx, t, b)
	for k, v := range before {
		got, ok := after[k]
		switch {
		case !ok:
			t.Errorf("after restore %s is missing", k)
		case got != v && !strings.Contains(k, "/workloadendpoints/"): // the daemons may refresh endpoints at start
			t.Errorf("after restore %s = %q, want %q", k, got, v)
		}
	}
	if len(before) == 0 {
		t.Fatal("nothing was kept: the test checked nothing")
	}
}

// keptKeys are the pools, policies, endpoints and IPAM state.
func keptKeys(ctx context.Context, t *testing.T, b *testbed.Bed) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, prefix := range []string{"/calico/resources/v3/projectcalico.org/ippools/", "/calico/resources/v3/projectcalico.org/networkpolicies/",
		"/calico/resources/v3/projectcalico.org/workloadendpoints/", "/calico/ipam/v2/assignment/", "/calico/ipam/v2/handle/"} {
		resp, err := b.Store.Client().Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range resp.Kvs {
			out[string(kv.Key)] = string(kv.Value)
		}
	}
	return out
}

func wipe(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
}
