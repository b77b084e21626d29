package ipsets

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
)

// benchSets returns n sets of k /32 members each.
func benchSets(n, k int) map[string][]netip.Prefix {
	sets := make(map[string][]netip.Prefix, n)
	for i := range n {
		members := make([]netip.Prefix, k)
		for j := range k {
			members[j] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(j)}), 32)
		}
		sets[fmt.Sprintf("cali40s:bench%d", i)] = members
	}
	return sets
}

// BenchmarkApply1000x10 measures ApplyUpdates for 1000 sets of 10 members:
// from cold (no set exists) and, with all of them in place, a change of one
// member (which still reads back every set).
func BenchmarkApply1000x10(b *testing.B) {
	ctx := context.Background()
	m := New(Config{IPVersion: 4, Runner: newNS(b), Logger: slog.New(slog.DiscardHandler)})
	sets := benchSets(1000, 10)

	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			m.SetDesired(nil)
			if err := m.ApplyDeletions(ctx); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			m.SetDesired(sets)
			if err := m.ApplyUpdates(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("one-member-change", func(b *testing.B) {
		changed := benchSets(1000, 10)
		changed["cali40s:bench500"] = append(changed["cali40s:bench500"], netip.MustParsePrefix("10.99.0.0/16"))
		m.SetDesired(sets)
		if err := m.ApplyUpdates(ctx); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			if i++; i%2 == 0 {
				m.SetDesired(sets)
			} else {
				m.SetDesired(changed)
			}
			if err := m.ApplyUpdates(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadAndPlan1000x10 measures our own share of a one-member
// change, without the kernel: parsing `ipset list` of 1000 sets of 10
// members and computing the delta.
func BenchmarkReadAndPlan1000x10(b *testing.B) {
	sets := benchSets(1000, 10)
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
	out := []byte(sb.String())
	sets["cali40s:bench500"] = append(sets["cali40s:bench500"], netip.MustParsePrefix("10.99.0.0/16"))
	m := New(Config{IPVersion: 4, Runner: &recorder{}})
	m.SetDesired(sets)
	for b.Loop() {
		actual, err := parseList(out, m.owns)
		if err != nil {
			b.Fatal(err)
		}
		if p := m.planUpdates(actual, m.planNames(false)); len(p.lines) != 1 {
			b.Fatalf("plan %q, want one add", p.lines)
		}
	}
}
