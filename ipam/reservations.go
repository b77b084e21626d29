package ipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// IP reservations (Calico's IPReservation): addresses IPAM never hands
// out. AutoAssign skips every reserved address (a block whose free
// addresses are all reserved counts as full); AssignIP refuses a reserved
// address with ErrReserved naming the reservation. Addresses allocated
// before a reservation covered them stay allocated until released, as in
// Calico. The reservations are read at the start of every AutoAssign and
// AssignIP: from the source given to UseReservations (the daemon's cache:
// no round trip) or else with one list from etcd.

// ErrReserved: an explicitly requested address is in an IPReservation.
var ErrReserved = errors.New("address is reserved")

// reservation is one reserved CIDR and the IPReservation naming it.
type reservation struct {
	name string
	cidr netip.Prefix
}

// reservations are the reserved CIDRs of every IPReservation.
type reservations []reservation

// UseReservations makes the allocator read IPReservations from src (for
// example the daemon's cache) instead of listing them from etcd at every
// assignment. src must be safe for concurrent use and must not block.
func (a *Allocator) UseReservations(src func() []*resources.IPReservation) {
	a.lockedSet(func() { a.reservationSrc = src })
}

// lockedSet runs fn holding the mutation lock (no deadline: fn is quick).
func (a *Allocator) lockedSet(fn func()) {
	a.sem <- struct{}{}
	defer a.unlock()
	fn()
}

// loadReservations reads the reservations into a.reserved; call it with
// the mutation lock held, at the start of an assignment.
func (a *Allocator) loadReservations(ctx context.Context) error {
	var rs []*resources.IPReservation
	if a.reservationSrc != nil {
		rs = a.reservationSrc()
	} else {
		err := a.call(ctx, "list IP reservations", func(c context.Context) (err error) {
			rs, _, err = datastore.ListAs[*resources.IPReservation](c, a.store, "")
			return err
		})
		if err != nil {
			return err
		}
	}
	a.reserved = compileReservations(rs)
	return nil
}

func compileReservations(rs []*resources.IPReservation) reservations {
	var out reservations
	for _, r := range rs {
		for _, s := range r.Spec.ReservedCIDRs {
			p, err := resources.ParseNet(s)
			if err != nil {
				slog.Warn("ipam: ignoring an unparsable reserved CIDR; fix it with calicoctl apply", "reservation", r.Name, "cidr", s)
				continue
			}
			out = append(out, reservation{name: r.Name, cidr: p.Masked()})
		}
	}
	slices.SortFunc(out, func(x, y reservation) int { return strings.Compare(x.name, y.name) })
	return out
}

// of returns the reservation holding ip, or nil.
func (rs reservations) of(ip netip.Addr) *reservation {
	for i := range rs {
		if rs[i].cidr.Contains(ip) {
			return &rs[i]
		}
	}
	return nil
}

// skipper returns which ordinals of block b are reserved; nil when none
// is (the common case: allocation then costs nothing more).
func (rs reservations) skipper(b netip.Prefix) func(ord int) bool {
	var in reservations
	for _, r := range rs {
		if r.cidr.Overlaps(b) {
			in = append(in, r)
		}
	}
	if len(in) == 0 {
		return nil
	}
	return func(ord int) bool { return in.of(addrAt(b, ord)) != nil }
}

// wholeBlocks returns the reserved CIDRs that cover whole blocks of
// blockSize: a claim passes over those blocks, which could serve nothing.
func (rs reservations) wholeBlocks(blockSize int) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range rs {
		if r.cidr.Bits() <= blockSize {
			out = append(out, r.cidr)
		}
	}
	return out
}

// hasUsable reports whether block c has a free address that is not reserved.
func (a *Allocator) hasUsable(c *cachedBlock) bool {
	skip := a.reserved.skipper(c.b.cidr)
	if skip == nil {
		return c.b.freeCount() > 0
	}
	return slices.ContainsFunc(c.b.free, func(o int) bool { return !skip(o) })
}

// checkReserved refuses a specific address that a reservation holds.
func (a *Allocator) checkReserved(ip netip.Addr) error {
	r := a.reserved.of(ip)
	if r == nil {
		return nil
	}
	return fmt.Errorf("assign %s: the address is reserved by IPReservation %q (%s): choose another address, "+
		"or remove it from the reservation's spec.reservedCIDRs with calicoctl apply: %w", ip, r.name, r.cidr, ErrReserved)
}
