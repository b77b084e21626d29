package ipam

import (
	"math/big"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// IPReservations in ipam show, as calicoctl counts them: IPS RESERVED is
// how many of a pool's (or block's) addresses a reservation holds, and
// IPS FREE leaves them out, since IPAM never hands them out. An address
// allocated before it was reserved counts as in use and reserved, once
// in neither FREE nor twice against the total.

// reservedNets are the reserved CIDRs of every IPReservation.
func reservedNets(rs []*resources.IPReservation) []netip.Prefix {
	var out []netip.Prefix
	for _, r := range rs {
		for _, s := range r.Spec.ReservedCIDRs {
			if p, err := resources.ParseNet(s); err == nil {
				out = append(out, p.Masked())
			}
		}
	}
	return out
}

// reservedWithin returns the parts of the reserved nets inside c, without
// overlaps (two prefixes are either nested or disjoint).
func reservedWithin(nets []netip.Prefix, c netip.Prefix) []netip.Prefix {
	var in []netip.Prefix
	for _, n := range nets {
		switch {
		case n.Addr().BitLen() != c.Addr().BitLen() || !n.Overlaps(c):
		case n.Bits() <= c.Bits():
			in = append(in, c)
		default:
			in = append(in, n)
		}
	}
	slices.SortFunc(in, func(x, y netip.Prefix) int { return x.Bits() - y.Bits() })
	var kept []netip.Prefix
	for _, p := range in {
		if !slices.ContainsFunc(kept, func(k netip.Prefix) bool { return k.Contains(p.Addr()) }) {
			kept = append(kept, p)
		}
	}
	return kept
}

// reservedUsage counts the addresses of c the nets reserve, and how many
// of the allocations are among them.
func reservedUsage(nets []netip.Prefix, c netip.Prefix, allocs []ipam.Allocation) (reserved *big.Int, inUse int) {
	within := reservedWithin(nets, c)
	reserved = new(big.Int)
	for _, p := range within {
		reserved.Add(reserved, new(big.Int).Lsh(big.NewInt(1), uint(p.Addr().BitLen()-p.Bits())))
	}
	for _, al := range allocs {
		if slices.ContainsFunc(within, func(p netip.Prefix) bool { return p.Contains(al.IP) }) {
			inUse++
		}
	}
	return reserved, inUse
}
