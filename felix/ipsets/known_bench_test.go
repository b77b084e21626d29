package ipsets

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
)

// canned answers `ipset list` with fixed output and accepts every restore.
type canned struct{ list []byte }

func (c *canned) Run(_ context.Context, _ []byte, _ string, args ...string) ([]byte, error) {
	if len(args) > 0 && args[0] == "list" {
		return c.list, nil
	}
	return nil, nil
}

// BenchmarkFleetChange is our own share (no kernel, no exec) of one
// remote endpoint change in a fleet-shaped state: one set of 10,000
// members (a profile's) and 5 of 2,000 (policies' source sets), one member
// of the large set added or removed per op. read-back: ApplyUpdates, which
// parses `ipset list` of every member first; incremental:
// ApplyUpdatesIncremental, with the unchanged sets given the same slices.
func BenchmarkFleetChange(b *testing.B) {
	sets := map[string][]netip.Prefix{}
	addrs := func(base byte, n int) []netip.Prefix {
		out := make([]netip.Prefix, n)
		for j := range n {
			out[j] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, base, byte(j >> 8), byte(j)}), 32)
		}
		return out
	}
	sets["cali40s:all"] = addrs(0, 10000)
	for i := range 5 {
		sets[fmt.Sprintf("cali40s:app%d", i)] = addrs(byte(1+i), 2000)
	}
	var sb strings.Builder
	for name, members := range sets {
		fmt.Fprintf(&sb, "Name: %s\nType: hash:net\nRevision: 7\n"+
			"Header: family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x2a0377c8\n"+
			"Size in memory: 1000\nReferences: 1\nNumber of entries: %d\nMembers:\n", name, len(members))
		for _, p := range members {
			sb.WriteString(formatMember(p) + "\n")
		}
		sb.WriteString("\n")
	}
	// Two desired states that differ in one member of the large set.
	a, c := map[string][]netip.Prefix{}, map[string][]netip.Prefix{}
	for name, members := range sets {
		a[name], c[name] = members, members
	}
	c["cali40s:all"] = append(addrs(0, 10000), netip.MustParsePrefix("10.99.0.1/32"))
	for _, mode := range []string{"read-back", "incremental"} {
		b.Run(mode, func(b *testing.B) {
			m := New(Config{IPVersion: 4, Runner: &canned{list: []byte(sb.String())}, Logger: slog.New(slog.DiscardHandler)})
			apply := m.ApplyUpdates
			if mode == "incremental" {
				apply = m.ApplyUpdatesIncremental
			}
			n := 0
			for b.Loop() {
				want := a
				if n++; n%2 == 0 {
					want = c
				}
				m.SetDesired(want)
				if err := apply(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
