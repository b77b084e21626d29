package ipam

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// docsReservation stores Calico's IPReservation example, unchanged
// (my-ipreservation-1: 192.168.2.3, 10.0.2.3/32, cafe:f00d::/123).
func docsReservation(t *testing.T, s *datastore.Store) *resources.IPReservation {
	t.Helper()
	data, err := os.ReadFile("../resources/testdata/calico-docs/ipreservation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := resources.DecodeBytes(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode: %v %v", objs, err)
	}
	r := objs[0].(*resources.IPReservation)
	if _, err := s.Create(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestAutoAssignSkipsReserved: every address of the pool but the reserved
// ones is handed out, then the pool is exhausted; IPv6 likewise.
func TestAutoAssignSkipsReserved(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p4", "10.0.2.0/28", 30)
	addPool(t, s, "p6", "cafe:f00d::/122", 124)
	docsReservation(t, s)
	a := New(s, "host1")
	v4, v6 := mustAuto(t, a, "h1", 15, 64-32)
	if slices.Contains(v4, ip("10.0.2.3")) {
		t.Errorf("reserved 10.0.2.3 handed out: %v", v4)
	}
	for _, x := range v6 {
		if cidr("cafe:f00d::/123").Contains(x) {
			t.Errorf("reserved %s handed out", x)
		}
	}
	_, _, err := a.AutoAssign(testCtx(t), AutoAssignArgs{Handle: "h2", Num4: 1})
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("16th IPv4 address: %v, want ErrExhausted (the 16th is reserved)", err)
	}
	// The /123 covers two whole /124 blocks: they are never claimed.
	bs, err := a.Blocks(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.CIDR.Bits() == 124 && cidr("cafe:f00d::/123").Overlaps(b.CIDR) {
			t.Errorf("block %s, all reserved, was claimed", b.CIDR)
		}
	}
}

// TestAssignIPRefusesReserved: a specific reserved address is refused
// naming the reservation, nothing is written; without the reservation it
// is assigned.
func TestAssignIPRefusesReserved(t *testing.T) {
	_, cli := testenv.StartEtcd(t)
	s := datastore.New(cli)
	addPool(t, s, "p4", "10.0.2.0/24", 26)
	r := docsReservation(t, s)
	a := New(s, "host1")
	ctx := testCtx(t)
	rev := revision(t, cli)
	err := a.AssignIP(ctx, ip("10.0.2.3"), "h1", nil)
	if !errors.Is(err, ErrReserved) || !strings.Contains(err.Error(), `IPReservation "my-ipreservation-1"`) ||
		!strings.Contains(err.Error(), "spec.reservedCIDRs") {
		t.Fatalf("AssignIP(reserved) = %v; want ErrReserved naming my-ipreservation-1 and the fix", err)
	}
	assertUnchanged(t, cli, rev, "a refused AssignIP")
	if err := a.AssignIP(ctx, ip("10.0.2.4"), "h1", nil); err != nil {
		t.Fatalf("AssignIP(10.0.2.4), not reserved: %v", err)
	}
	if _, err := s.Delete(ctx, resources.KindIPReservation, "", r.Name, ""); err != nil {
		t.Fatal(err)
	}
	if err := a.AssignIP(ctx, ip("10.0.2.3"), "h1", nil); err != nil {
		t.Fatalf("AssignIP(10.0.2.3) after the reservation was deleted: %v", err)
	}
}

// TestReservationSource: with UseReservations the allocator reads the
// reservations from the source (the daemon's cache), not etcd.
func TestReservationSource(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p4", "10.0.3.0/30", 30)
	a := New(s, "host1")
	r := resources.NewIPReservation("held")
	r.Spec.ReservedCIDRs = []string{"10.0.3.0", "10.0.3.1"}
	a.UseReservations(func() []*resources.IPReservation { return []*resources.IPReservation{r} })
	v4, _ := mustAuto(t, a, "h1", 2, 0)
	if want := []netip.Addr{ip("10.0.3.2"), ip("10.0.3.3")}; !slices.Equal(v4, want) {
		t.Fatalf("got %v, want %v", v4, want)
	}
	if err := a.AssignIP(testCtx(t), ip("10.0.3.1"), "h2", nil); !errors.Is(err, ErrReserved) {
		t.Fatalf("AssignIP(10.0.3.1) = %v, want ErrReserved", err)
	}
}
