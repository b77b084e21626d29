package nftrules

import (
	"encoding/binary"
	"hash/fnv"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Interval is one element of an interval set: [Start, End); End is
// invalid when the interval runs to the family's last address.
type Interval struct {
	Start, End netip.Addr
}

// SelectorSet is the one set of each of our tables that holds the
// members of all its address sets (Table.Sets, by name): an element is a
// range of addresses and the number of the set it belongs to (SetID),
// and a rule matching set S looks up its packet's address with S's
// number beside it. The kernel finds a named set by walking its table's
// list of sets, for each set added and each rule and element message
// naming one, so a set per selector made a table's sets cost the square
// of their number (at 625 one-member sets a table, ~0.3 s of a 10,000 ×
// 10,000 start of day, docs/benchmarks.md); one set of all members costs
// what its elements cost.
const SelectorSet = "cali-sel"

// SetID is the number of address set name in its table's SelectorSet:
// a 64-bit hash of the name, so it is the same in every build and at
// every start, and needs no table of numbers kept anywhere. (Two of a
// table's sets with one number would share members: the driver refuses
// to program that, which at 64 bits is not expected to happen.)
func SetID(name string) [8]byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], h.Sum64())
	return id
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

// SetNames maps the numbers (SetID) of the address sets named by
// ipsetNames (felix/rules' and felix/nat's names) to their nftables
// names: what a listing of a table's SelectorSet shows its members under.
func SetNames(ipsetNames []string) map[[8]byte]string {
	out := make(map[[8]byte]string, len(ipsetNames))
	for _, n := range ipsetNames {
		out[SetID(SetName(n))] = SetName(n)
	}
	return out
}
