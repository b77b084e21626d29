package fleetsim

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func newFleet(t *testing.T, cfg Config) (*Fleet, *datastore.Store) {
	t.Helper()
	_, cli := testenv.StartEtcd(t)
	s := datastore.New(cli)
	f, err := New(s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, s
}

// TestLoadIsWhatIPAMAndTheStoreRead loads a small fleet in two steps
// (70 endpoints per host: two blocks each) and reads it back through
// package ipam and the typed store: every block affine to its node, every
// address of an endpoint held by that endpoint's handle, nodes with no
// address, and the policies' selectors matching some endpoints.
func TestLoadIsWhatIPAMAndTheStoreRead(t *testing.T) {
	ctx := context.Background()
	f, s := newFleet(t, Config{Hosts: 5, EndpointsPerHost: 70, Policies: 3, DisableMesh: true})
	for _, n := range []int{3, 5, 5} { // the last load is a no-op
		if err := f.LoadTo(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	cfg := f.Config()
	alloc := ipam.New(s, "reader")
	blocks, err := alloc.Blocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 10 {
		t.Fatalf("got %d blocks, want 10 (5 hosts × 2)", len(blocks))
	}
	owner := map[netip.Addr]string{}
	for _, b := range blocks {
		if b.Pool != PoolName || !strings.HasPrefix(b.Affinity, cfg.NodePrefix) {
			t.Errorf("block %s: pool %q affinity %q", b.CIDR, b.Pool, b.Affinity)
		}
		aff, err := alloc.AffineBlocks(ctx, b.Affinity)
		if err != nil || len(aff) != 2 {
			t.Errorf("node %s: affine blocks %v, %v; want 2", b.Affinity, aff, err)
		}
		for _, a := range b.Allocations {
			owner[a.IP] = a.Handle
		}
	}
	if len(owner) != cfg.Endpoints() {
		t.Fatalf("%d addresses allocated, want %d", len(owner), cfg.Endpoints())
	}
	weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, s, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(weps) != cfg.Endpoints() {
		t.Fatalf("%d endpoints stored, want %d", len(weps), cfg.Endpoints())
	}
	for _, w := range weps {
		ip := netip.MustParsePrefix(w.Spec.IPNetworks[0]).Addr()
		if h := driver.Handle(w.Spec.Endpoint); owner[ip] != h {
			t.Errorf("endpoint %s: address %s held by %q, want %q", w.Name, ip, owner[ip], h)
		}
		if ips, err := alloc.IPsByHandle(ctx, driver.Handle(w.Spec.Endpoint)); err != nil || len(ips) != 1 || ips[0] != ip {
			t.Errorf("handle of %s lists %v, %v; want [%s]", w.Name, ips, err, ip)
		}
	}
	nodes, _, err := datastore.ListAs[*resources.Node](ctx, s, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Spec.BGP != nil || n.Spec.IPv4VXLANTunnelAddr != "" {
			t.Errorf("node %s has an address (%+v): simulated hosts must have none", n.Name, n.Spec)
		}
	}
	if bc, err := datastore.GetAs[*resources.BGPConfiguration](ctx, s, "", "default"); err != nil || bc.MeshEnabled() {
		t.Errorf("BGPConfiguration default: %v, %v; want the mesh off", bc, err)
	}
}

// TestChurnKeepsCountAndStore churns a loaded fleet briefly and checks the
// endpoints stored are those the fleet believes present.
func TestChurnKeepsCountAndStore(t *testing.T) {
	ctx := context.Background()
	f, s := newFleet(t, Config{Hosts: 4, EndpointsPerHost: 10})
	if err := f.LoadTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	st, err := f.Churn(ctx, 200, 300*time.Millisecond, 1)
	if err != nil {
		t.Fatal(err)
	}
	if st.Changes == 0 || st.Deletes == 0 {
		t.Fatalf("churn made %+v: want deletes and creates", st)
	}
	weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, s, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(weps) != f.Present() {
		t.Fatalf("%d endpoints stored, the fleet counts %d present", len(weps), f.Present())
	}
}

func TestBadConfigNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Hosts: -1}, "Hosts"},
		{Config{PoolCIDR: "198.18.0.1/15"}, "PoolCIDR"},
		{Config{PoolCIDR: "fd00::/64"}, "PoolCIDR"},
		{Config{BlockSize: 24}, "BlockSize"},
		{Config{Hosts: 3000}, "larger pool"},
		{Config{NodePrefix: "Bad/Name"}, "NodePrefix"},
	} {
		err := tc.cfg.Defaults().Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error naming %s", tc.cfg, err, tc.want)
		}
	}
	if _, err := New(nil, Config{Hosts: -1}); err == nil {
		t.Error("New accepted Hosts -1")
	}
}

// TestAddressesStayInThePool: every simulated address lies in the pool
// and no two endpoints share one.
func TestAddressesStayInThePool(t *testing.T) {
	cfg := Config{Hosts: 2048, EndpointsPerHost: 50}.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pool := netip.MustParsePrefix(cfg.PoolCIDR)
	seen := map[netip.Addr]bool{}
	for h := range cfg.Hosts {
		for i := range cfg.EndpointsPerHost {
			a := cfg.EndpointAddr(h, i)
			if !pool.Contains(a) || seen[a] {
				t.Fatalf("host %d endpoint %d: address %s outside %s or repeated", h, i, a, pool)
			}
			seen[a] = true
		}
	}
}

// TestMainCommand loads and churns through the command's entry point, and
// refuses a missing endpoint or a bad config naming what to fix.
func TestMainCommand(t *testing.T) {
	eps, _ := testenv.StartEtcd(t)
	var out, errb strings.Builder
	err := Main(context.Background(), []string{"-etcd-endpoints", eps[0], "-hosts", "2", "-endpoints-per-host", "3",
		"-churn-rate", "50", "-churn-for", "200ms"}, &out, &errb)
	if err != nil || !strings.Contains(out.String(), "loaded 2 hosts × 3 endpoints") || !strings.Contains(out.String(), "churned") {
		t.Fatalf("Main: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	if err := Main(context.Background(), nil, &out, &errb); err == nil || !strings.Contains(err.Error(), "-etcd-endpoints") {
		t.Errorf("without endpoints: %v", err)
	}
	if err := Main(context.Background(), []string{"-etcd-endpoints", eps[0], "-pool", "nope"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "PoolCIDR") {
		t.Errorf("bad pool: %v", err)
	}
}
