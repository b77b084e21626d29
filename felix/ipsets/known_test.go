package ipsets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// lister counts `ipset list` reads with members.
type lister struct {
	Runner
	reads int
}

func (l *lister) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	if slices.Equal(args, []string{"list"}) {
		l.reads++
	}
	return l.Runner.Run(ctx, stdin, name, args...)
}

func applyIncremental(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.ApplyUpdatesIncremental(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestIncrementalReadsBackOnlyWhenUnknown: after a successful apply the
// next incremental one writes the delta without reading the kernel; a
// failure, and ApplyUpdates, read back.
func TestIncrementalReadsBackOnlyWhenUnknown(t *testing.T) {
	f := &faulty{Runner: newNS(t)}
	l := &lister{Runner: f}
	rec := &recorder{Runner: l}
	m := New(Config{IPVersion: 4, Runner: rec})
	const a, b = "cali40s:a", "cali40s:b"
	m.SetDesired(map[string][]netip.Prefix{a: prefixes("10.0.0.1/32", "10.0.0.2/32"), b: prefixes("10.1.0.0/16")})
	applyIncremental(t, m) // nothing known yet: reads
	m.SetDesired(map[string][]netip.Prefix{a: prefixes("10.0.0.1/32", "10.0.0.3/32")})
	applyIncremental(t, m)
	if l.reads != 1 {
		t.Errorf("ipset list ran %d times, want 1", l.reads)
	}
	if got := rec.take(); len(got) != 2 || !slices.Equal(got[1], []string{"del " + a + " 10.0.0.2", "add " + a + " 10.0.0.3"}) {
		t.Errorf("batches %q: want the delta last", got)
	}
	checkSet(t, m, a, "10.0.0.1", "10.0.0.3")
	applyDeletions(t, m) // b goes
	m.SetDesired(map[string][]netip.Prefix{a: prefixes("10.0.0.1/32"), b: prefixes("10.2.0.0/16")})
	applyIncremental(t, m) // b must be created again, not assumed present
	checkSet(t, m, b, "10.2.0.0/16")

	f.failArg = "restore"
	m.SetDesired(map[string][]netip.Prefix{a: prefixes("10.0.0.4/32")})
	if err := m.ApplyUpdatesIncremental(context.Background()); err == nil {
		t.Fatal("injected restore failure not reported")
	}
	reads := l.reads
	applyIncremental(t, m)
	if l.reads != reads+1 {
		t.Errorf("after a failure the next apply did not read back")
	}
	checkSet(t, m, a, "10.0.0.4")
	run(t, f, "ipset", "flush", a) // by hand: only a full apply sees it
	applyUpdates(t, m)
	checkSet(t, m, a, "10.0.0.4")
}

// TestIncrementalMatchesKernel: random desired states applied
// incrementally, some sets given the same slice again, every other one
// given as a delta (UpdateDesired), leave the kernel exactly as desired.
func TestIncrementalMatchesKernel(t *testing.T) {
	m := New(Config{IPVersion: 4, Runner: newNS(t)})
	rng := rand.New(rand.NewPCG(1, 2))
	var want map[string][]netip.Prefix
	for round := range 30 {
		prev := want
		want = map[string][]netip.Prefix{}
		for s := range 1 + rng.IntN(3) {
			if ps, ok := prev[fmt.Sprintf("cali40s:%d", s)]; ok && rng.IntN(2) == 0 {
				want[fmt.Sprintf("cali40s:%d", s)] = ps // the very same slice: known unchanged
				continue
			}
			var ps []netip.Prefix
			for range rng.IntN(6) {
				ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(s), byte(rng.IntN(8))}), 32))
			}
			want[fmt.Sprintf("cali40s:%d", s)] = ps
		}
		if round%2 == 1 {
			changed, removed := setDelta(prev, want)
			m.UpdateDesired(want, changed, removed)
		} else {
			m.SetDesired(want)
		}
		applyIncremental(t, m)
		if round%5 == 4 {
			applyDeletions(t, m)
		}
		for name, ps := range want {
			var strs []string
			for _, p := range slices.Compact(slices.SortedFunc(slices.Values(ps), netip.Prefix.Compare)) {
				strs = append(strs, formatMember(p))
			}
			checkSet(t, m, name, strs...)
		}
	}
}

// setDelta names the sets of cur that are new or have other members than
// in prev, and those of prev gone from cur.
func setDelta(prev, cur map[string][]netip.Prefix) (changed, removed []string) {
	for name, ps := range cur {
		if old, ok := prev[name]; !ok || !slices.Equal(old, ps) {
			changed = append(changed, name)
		}
	}
	for name := range prev {
		if _, ok := cur[name]; !ok {
			removed = append(removed, name)
		}
	}
	return changed, removed
}
