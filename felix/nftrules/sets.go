package nftrules

import (
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Interval is one element of an interval set: [Start, End); End is
// invalid when the interval runs to the family's last address.
type Interval struct {
	Start, End netip.Addr
}

// Key identifies the interval (for diffs).
func (iv Interval) Key() string { return iv.Start.String() + "-" + iv.End.String() }

// Intervals returns the elements of an interval set holding prefixes (of
// IP version v; others are skipped): a prefix inside another is dropped,
// so the intervals are disjoint (two prefixes are nested or disjoint).
// Sorted by start.
func Intervals(v int, prefixes []netip.Prefix) []Interval {
	ps := make([]netip.Prefix, 0, len(prefixes))
	for _, p := range prefixes {
		if p.IsValid() && p.Addr().Is4() == (v == 4) {
			ps = append(ps, p.Masked())
		}
	}
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits() // the wider first
	})
	out := make([]Interval, 0, len(ps))
	var last netip.Prefix
	for _, p := range ps {
		if last.IsValid() && last.Contains(p.Addr()) {
			continue
		}
		last = p
		out = append(out, Interval{Start: p.Addr(), End: rules.LastAddr(p).Next()})
	}
	return out
}

// FromBounds rebuilds intervals from a kernel dump: starts and ends (the
// elements flagged interval-end), in any order.
func FromBounds(starts, ends []netip.Addr) []Interval {
	slices.SortFunc(starts, netip.Addr.Compare)
	slices.SortFunc(ends, netip.Addr.Compare)
	out := make([]Interval, 0, len(starts))
	for _, s := range starts {
		i, _ := slices.BinarySearchFunc(ends, s, netip.Addr.Compare)
		// the first end above s (an end equal to s closes the interval before)
		for i < len(ends) && ends[i].Compare(s) <= 0 {
			i++
		}
		iv := Interval{Start: s}
		if i < len(ends) {
			iv.End = ends[i]
		}
		out = append(out, iv)
	}
	return out
}
