package ipamdriver

import (
	"context"
	"net/netip"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestReservedAddress: `docker run --ip` of a reserved address is refused
// naming the reservation, nothing stored; automatic assignment skips it.
func TestReservedAddress(t *testing.T) {
	e := newEnv(t)
	r := resources.NewIPReservation("keep-out")
	r.Spec.ReservedCIDRs = []string{"10.1.0.0/31"}
	if _, err := e.store.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	id := e.ok("IpamDriver.RequestPool", poolReq("10.1.0.0/16", "", false))["PoolID"].(string)
	e.fails("IpamDriver.RequestAddress", addrReq(id, "10.1.0.1", nil),
		`reserved by IPReservation "keep-out" (10.1.0.0/31)`, "spec.reservedCIDRs")
	got := netip.MustParsePrefix(e.ok("IpamDriver.RequestAddress", addrReq(id, "", nil))["Address"].(string))
	if got.Addr() != netip.MustParseAddr("10.1.0.2") {
		t.Fatalf("first automatic address %s, want 10.1.0.2 (10.1.0.0/31 is reserved)", got)
	}
}
