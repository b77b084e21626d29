package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestFailedConnectLeavesNothing makes `docker network connect` fail for
// real, the way the issue saw it: the container has a route that covers
// the new network's subnet, so Docker refuses to program the new address
// in the sandbox ("conflicts with existing route") after the driver's Join
// succeeded. Docker then calls Leave, DeleteEndpoint and ReleaseAddress;
// afterwards the plugin holds nothing of the failed connect: no
// WorkloadEndpoint, no allocation in the network's pool, no veth on the
// host. Once the route is gone the same connect works.
func TestFailedConnectLeavesNothing(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool, subnetPoolS1, subnetPoolS2)
	d := startDaemon(t, e.host)
	s1 := e.network("fc1", "--subnet", subnetPoolS1)
	s2 := e.network("fc2", "--subnet", subnetPoolS2)
	x := e.run("fcx", "--net", s1, "--cap-add", "NET_ADMIN")
	if out, err := e.exec(x, "ip", "route", "add", subnetPoolS2, "via", "169.254.1.1"); err != nil {
		t.Fatalf("add the conflicting route: %v: %s", err, out)
	}
	links := testenv.WorkloadLinks(t)

	out, err := e.try("network", "connect", s2, x)
	if err == nil || !strings.Contains(err.Error(), "conflicts with existing route") {
		t.Fatalf("docker network connect with a conflicting route: %v %s; want Docker's route conflict", err, out)
	}
	store := datastore.New(d.etcd())
	testenv.Eventually(t, 20*time.Second, 200*time.Millisecond, func() error {
		return checkOnlyNetwork(store, subnetPoolS2)
	})
	testenv.CheckNoNewWorkloadLinks(t, links)
	if now := testenv.WorkloadLinks(t); !slices.Equal(now, links) {
		t.Errorf("workload links %v after the failed connect, before it %v", now, links)
	}

	// Docker may keep the failed network in the container's settings (the
	// issue saw docker inspect list it; Docker 20.10.24 here does not):
	// `docker network disconnect -f` clears it.
	if _, err := e.exec(x, "ip", "route", "del", subnetPoolS2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.try("network", "connect", s2, x); err != nil {
		t.Logf("connect again: %v; clearing Docker's record with disconnect -f", err)
		e.must("network", "disconnect", "-f", s2, x)
		e.must("network", "connect", s2, x)
	}
	if ip := netip.MustParseAddr(e.ip(x, s2)); !netip.MustParsePrefix(subnetPoolS2).Contains(ip) {
		t.Errorf("address %s on %s is outside %s", ip, s2, subnetPoolS2)
	}
}

// checkOnlyNetwork fails while a WorkloadEndpoint or an allocation in pool
// exists: what a failed connect to pool's network must not leave.
func checkOnlyNetwork(store *datastore.Store, pool string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := netip.MustParsePrefix(pool)
	blocks, err := ipam.New(store, "calico-e2e").Blocks(ctx)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		if p.Overlaps(b.CIDR) && len(b.Allocations) > 0 {
			return fmt.Errorf("block %s still has allocations %v", b.CIDR, b.Allocations)
		}
	}
	weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, store, "")
	if err != nil {
		return err
	}
	for _, w := range weps {
		for _, n := range w.Spec.IPNetworks {
			if a, err := netip.ParsePrefix(n); err == nil && p.Contains(a.Addr()) {
				return fmt.Errorf("workload endpoint %s with %s is left", w.Name, n)
			}
		}
	}
	return nil
}
