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

// TestRemovedMemberGoesOnAsClient: `calicoctl cluster remove-member host3`
// while host3's daemon runs. The daemon notices, says so in its log,
// stops serving its member and goes on as a client of host1 and host2:
// a new workload on host3 still gets its address; after a restart host3
// is a client (no removed member comes back) and still allocates.
func TestRemovedMemberGoesOnAsClient(t *testing.T) {
	b := startJoinBed(t, testbed.HostConfig{Name: "host1"}, testbed.HostConfig{Name: "host2"}, testbed.HostConfig{Name: "host3"})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	checkMembers(ctx, t, b, 3)
	netw, err := b.CreateNetworkOn(b.Hosts, "removal", netip.Prefix{}, "")
	if err != nil {
		t.Fatal(err)
	}
	h3 := b.Host("host3")
	// etcd refuses a removal while a member was not active long enough
	// ("unhealthy cluster").
	eventually(t, "remove-member host3", func() error {
		_, err := b.Store.RemoveMember(ctx, "host3")
		return err
	})
	eventually(t, "host3 says its member was removed", func() error {
		if !strings.Contains(h3.LogTail(200), "etcd member was removed from the cluster") {
			return fmt.Errorf("not in host3's log yet")
		}
		return nil
	})
	checkMembers(ctx, t, b, 2)
	addWorkload(t, h3, netw) // IPAM through host1 and host2

	if err := h3.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := h3.Start(); err != nil {
		t.Fatalf("restart host3 after its removal: %v", err)
	}
	st, err := os.ReadFile(filepath.Join(h3.DataDir, "cluster.json"))
	if err != nil || !strings.Contains(string(st), `"client"`) {
		t.Errorf("host3's cluster.json after the removal: %s %v; want a client", st, err)
	}
	checkMembers(ctx, t, b, 2)
	addWorkload(t, h3, netw)
}
