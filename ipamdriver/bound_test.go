package ipamdriver

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestNetworkRecordPrefixInStep(t *testing.T) {
	if networkRecordPrefix != driver.NetworkKeyPrefix {
		t.Fatalf("networkRecordPrefix %q != driver.NetworkKeyPrefix %q", networkRecordPrefix, driver.NetworkKeyPrefix)
	}
}

// putNetwork writes a network record as the calico network driver does.
func (e *env) putNetwork(id string, v4Pools ...string) {
	e.t.Helper()
	b := `{"id":"` + id + `","ipv4Pools":["` + v4Pools[0] + `"]}`
	if _, err := e.cli.Put(context.Background(), networkRecordPrefix+id, b); err != nil {
		e.t.Fatal(err)
	}
}

// A network without --subnet never takes addresses from a --subnet
// network's pool, and is refused (saying what to do) when no other pool
// is left.
func TestSubnetlessNetworkAvoidsSubnetPools(t *testing.T) {
	e := newEnv(t)
	e.ok("IpamDriver.RequestPool", poolReq("10.61.0.0/24", "", false)) // creates docker-10-61-0-0-24
	e.fails("IpamDriver.RequestPool", poolReq("", "", false), "belongs to a network created with --subnet", "create a pool for it")
	// A user's pool named by a --subnet network is bound too.
	e.addPool("user", "10.62.0.0/24")
	e.putNetwork("n1", "10.62.0.0/24")
	e.fails("IpamDriver.RequestPool", poolReq("", "", false), "belongs to a network created with --subnet")
	e.addPool("default-ipv4-ippool", "192.168.0.0/16")
	e.ok("IpamDriver.RequestPool", poolReq("", "", false))
	for range 5 {
		got := e.ok("IpamDriver.RequestAddress", addrReq(PoolIDV4, "", nil))
		a := netip.MustParsePrefix(got["Address"].(string)).Addr()
		if !netip.MustParsePrefix("192.168.0.0/16").Contains(a) {
			t.Fatalf("a subnet-less network got %s, outside the pools not bound to a --subnet network", a)
		}
	}
}

// The pool created for a --subnet goes with the last network using it,
// once it holds no address; a user's pool stays.
func TestSubnetPoolRemovedWithLastNetwork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.ok("IpamDriver.RequestPool", poolReq("10.63.0.0/24", "", false))["PoolID"].(string)
	addr := e.ok("IpamDriver.RequestAddress", addrReq(id, "", nil))["Address"].(string)
	// Still in use: kept.
	e.ok("IpamDriver.ReleasePool", `{"PoolID":"`+id+`"}`)
	if _, err := datastore.GetAs[*resources.IPPool](ctx, e.store, "", "docker-10-63-0-0-24"); err != nil {
		t.Fatalf("pool with an address removed: %v", err)
	}
	e.ok("IpamDriver.ReleaseAddress", relReq(id, netip.MustParsePrefix(addr).Addr().String()))
	// Another network still names it: kept.
	e.putNetwork("other", "10.63.0.0/24")
	e.ok("IpamDriver.ReleasePool", `{"PoolID":"`+id+`"}`)
	if _, err := datastore.GetAs[*resources.IPPool](ctx, e.store, "", "docker-10-63-0-0-24"); err != nil {
		t.Fatalf("pool of a live network removed: %v", err)
	}
	if _, err := e.cli.Delete(ctx, networkRecordPrefix+"other"); err != nil {
		t.Fatal(err)
	}
	e.ok("IpamDriver.ReleasePool", `{"PoolID":"`+id+`"}`)
	if _, err := datastore.GetAs[*resources.IPPool](ctx, e.store, "", "docker-10-63-0-0-24"); !errors.Is(err, datastore.ErrNotFound) {
		t.Fatalf("pool of the last network kept: %v", err)
	}
	if n := e.allocated(); n != 0 {
		t.Fatalf("%d addresses left", n)
	}
	bs, _ := e.alloc.Blocks(ctx)
	if len(bs) != 0 {
		t.Fatalf("blocks left after the pool went: %+v", bs)
	}
	// A later overlapping --subnet is accepted.
	e.ok("IpamDriver.RequestPool", poolReq("10.63.0.0/16", "", false))
	// A user's pool used as --subnet stays.
	e.addPool("mine", "10.64.0.0/24")
	e.ok("IpamDriver.RequestPool", poolReq("10.64.0.0/24", "", false))
	e.ok("IpamDriver.ReleasePool", `{"PoolID":"10.64.0.0/24"}`)
	if _, err := datastore.GetAs[*resources.IPPool](ctx, e.store, "", "mine"); err != nil {
		t.Fatalf("user pool removed: %v", err)
	}
}

func TestIPv4MappedSubnetRefused(t *testing.T) {
	e := newEnv(t)
	e.fails("IpamDriver.RequestPool", poolReq("::ffff:10.9.0.0/120", "", true), "IPv4-mapped")
}

// With IPv6 off on the node, an IPv6 network is refused naming the setting
// (its addresses would go nowhere); IPv4 is unaffected.
func TestIPv6OffRefused(t *testing.T) {
	e := newEnvWith(t, func(d *Driver) server { return d.RefuseIPv6() })
	e.addPool("v6", "fd00:10::/64")
	e.addPool("v4", "10.70.0.0/16")
	e.fails("IpamDriver.RequestPool", poolReq("", "", true), "IPv6 is off on this node", "CALICO_IPV6=true")
	e.fails("IpamDriver.RequestPool", poolReq("fd00:20::/64", "", true), "ipv6: true")
	e.fails("IpamDriver.RequestAddress", addrReq(PoolIDV6, "", nil), "IPv6 is off")
	e.ok("IpamDriver.RequestPool", poolReq("", "", false))
	e.ok("IpamDriver.RequestAddress", addrReq(PoolIDV4, "", nil))
}
