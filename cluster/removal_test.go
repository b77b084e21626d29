package cluster_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
)

// TestRemovedMemberGoesOnAsClient: `calicoctl cluster remove-member` of a
// host, while its daemon is down (host3) and while it runs (host2). The
// daemon notices, when it starts or at once, says so in its log, stops
// serving its member and goes on as a client of the other members: a new
// workload on the host still gets its address; after a restart the host is
// a client (no removed member comes back) and still allocates.
func TestRemovedMemberGoesOnAsClient(t *testing.T) {
	b := startJoinBed(t, testbed.HostConfig{Name: "host1"}, testbed.HostConfig{Name: "host2"}, testbed.HostConfig{Name: "host3"})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	checkMembers(ctx, t, b, 3)
	netw, err := b.CreateNetworkOn(b.Hosts, "removal", netip.Prefix{}, "")
	if err != nil {
		t.Fatal(err)
	}
	removed := func(h *testbed.Host) {
		t.Helper()
		eventually(t, h.Name+" says its member was removed", func() error {
			if !strings.Contains(h.LogTail(200), "etcd member was removed from the cluster") {
				return fmt.Errorf("not in %s's log yet", h.Name)
			}
			return nil
		})
	}
	isClient := func(h *testbed.Host) {
		t.Helper()
		st, err := os.ReadFile(filepath.Join(h.DataDir, "cluster.json"))
		if err != nil || !strings.Contains(string(st), `"client"`) {
			t.Errorf("%s's cluster.json after its removal: %s %v; want a client", h.Name, st, err)
		}
	}
	restart := func(h *testbed.Host) {
		t.Helper()
		if err := h.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := h.Start(); err != nil {
			t.Fatalf("restart %s after its removal: %v", h.Name, err)
		}
	}
	// etcd refuses a removal while a member was not active long enough
	// ("unhealthy cluster").
	remove := func(name string) {
		t.Helper()
		eventually(t, "remove-member "+name, func() error {
			_, err := b.Store.RemoveMember(ctx, name)
			return err
		})
	}

	h3 := b.Host("host3")
	if err := h3.Stop(); err != nil {
		t.Fatal(err)
	}
	remove("host3")
	if err := h3.Start(); err != nil {
		t.Fatalf("start host3 after its removal: %v", err)
	}
	removed(h3)
	isClient(h3)
	checkMembers(ctx, t, b, 2)
	addWorkload(t, h3, netw) // IPAM through host1 and host2

	h2 := b.Host("host2")
	remove("host2")
	removed(h2)
	checkMembers(ctx, t, b, 1)
	addWorkload(t, h2, netw) // IPAM through host1
	restart(h2)
	isClient(h2)
	checkMembers(ctx, t, b, 1)
	addWorkload(t, h2, netw)
	addWorkload(t, h3, netw)
}
