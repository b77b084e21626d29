package daemon

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestWatcherFeedsDataplane runs the watcher against a real etcd and a
// real felix dataplane in policy mode programming a namespace that plays
// the host: routes follow this node's WorkloadEndpoints, including one
// stored before start.
func TestWatcherFeedsDataplane(t *testing.T) {
	testenv.RequireRoot(t)
	_, cli := testenv.StartEtcd(t)
	store := datastore.New(cli)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	nsh, name := testenv.NewNetNS(t)
	path := filepath.Join(testenv.NetNSDir, name)
	veths, err := felix.NewVeths(path)
	if err != nil {
		t.Fatal(err)
	}
	defer veths.Close()
	nl, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	mkEndpoint := func(id, node, addr string) *resources.WorkloadEndpoint {
		iface := "cali" + id
		if err := veths.CreateVeth(iface, "tmp"+id, net.HardwareAddr{2, 0, 0, 0, 0, 1}, 1500); err != nil {
			t.Fatal(err)
		}
		w := resources.NewWorkloadEndpoint(node + "-libnetwork-libnetwork-" + id)
		w.Spec = resources.WorkloadEndpointSpec{Node: node, InterfaceName: iface, IPNetworks: []string{addr}, Endpoint: id}
		if _, err := store.Create(ctx, w); err != nil {
			t.Fatal(err)
		}
		return w
	}
	early := mkEndpoint("00000000001", "host1", "10.99.0.1/32")

	dp := felix.New(felix.Config{NetNS: path, ResyncInterval: time.Hour, Logger: quiet, NodeName: "host1", Policy: true})
	c := syncedCache(ctx, t, store, "host1")
	w := newWatcher("host1", c, dp, quiet)
	w.prime()
	if err := dp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go w.run(ctx)
	defer func() { cancel(); <-dp.Done() }()

	hasRoute := func(dst string, want bool) func() error {
		return func() error {
			_, ipn, _ := net.ParseCIDR(dst)
			rs, err := nl.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: ipn}, netlink.RT_FILTER_DST)
			if err != nil {
				return err
			}
			if (len(rs) > 0) != want {
				return fmt.Errorf("route to %s present=%v, want %v", dst, len(rs) > 0, want)
			}
			return nil
		}
	}
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, hasRoute("10.99.0.1/32", true))
	mkEndpoint("00000000002", "host1", "10.99.0.2/32")
	mkEndpoint("00000000003", "host2", "10.99.0.3/32") // another node's: not ours
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, hasRoute("10.99.0.2/32", true))
	if err := hasRoute("10.99.0.3/32", false)(); err != nil {
		t.Error(err)
	}
	if _, err := store.Delete(ctx, resources.KindWorkloadEndpoint, "", early.Name, ""); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, hasRoute("10.99.0.1/32", false))

	// This node's affinities become blackholes; another node's do not.
	affinity := func(node, cidr string) string {
		return datastore.AffinityPrefix + node + "/ipv4/block/" + strings.Replace(cidr, "/", "-", 1)
	}
	for _, k := range []string{affinity("host1", "10.98.0.64/26"), affinity("host2", "10.98.0.128/26")} {
		if _, err := store.Commit(ctx, datastore.Txn{Then: []datastore.Op{datastore.Put(k, []byte(`{"state":"confirmed"}`))}}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, hasRoute("10.98.0.64/26", true))
	if err := hasRoute("10.98.0.128/26", false)(); err != nil {
		t.Error(err)
	}
	if _, err := store.Commit(ctx, datastore.Txn{Then: []datastore.Op{datastore.Del(affinity("host1", "10.98.0.64/26"))}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, hasRoute("10.98.0.64/26", false))
}

// syncedCache runs a syncer into a new cache until ctx ends and waits for
// its first sync.
func syncedCache(ctx context.Context, t *testing.T, store *datastore.Store, node string) *cache.Cache {
	t.Helper()
	c := cache.New(cache.Config{Node: node, Logger: quiet})
	go func() { _ = store.NewSyncer(datastore.SyncerConfig{Logger: quiet}).Run(ctx, c.Apply) }()
	if err := c.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSandboxAnnotationAgrees: the cache indexes endpoints by the
// annotation the driver writes at Join.
func TestSandboxAnnotationAgrees(t *testing.T) {
	if driver.AnnotationSandbox != model.AnnotationSandbox {
		t.Fatalf("driver writes %q, the cache indexes %q", driver.AnnotationSandbox, model.AnnotationSandbox)
	}
}
