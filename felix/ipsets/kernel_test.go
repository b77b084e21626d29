package ipsets

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// newManager returns a Manager for a fresh namespace, and the recorder it
// writes through.
func newManager(t *testing.T, v int) (*Manager, *recorder) {
	t.Helper()
	rec := &recorder{Runner: newNS(t)}
	return New(Config{IPVersion: v, Runner: rec}), rec
}

func applyUpdates(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.ApplyUpdates(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func applyDeletions(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.ApplyDeletions(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// checkSet fails unless the kernel holds the set as we create it, with
// exactly the given members (as the kernel prints them).
func checkSet(t *testing.T, m *Manager, name string, want ...string) {
	t.Helper()
	s, ok := kernel(t, m.cfg.Runner)[name]
	switch {
	case !ok:
		t.Fatalf("set %s missing", name)
	case !m.matches(s):
		t.Fatalf("set %s is %s family %s maxelem %d %v", name, s.typ, s.family, s.maxElem, s.extras)
	case !slices.Equal(members(s), want) || len(s.junk) > 0:
		t.Fatalf("set %s members %q (junk %q), want %q", name, members(s), s.junk, want)
	}
}

func TestSetsArePerNetns(t *testing.T) {
	a, b := newNS(t), newNS(t)
	run(t, a, "ipset", "create", "cali40s:probe", "hash:net")
	if _, ok := kernel(t, a)["cali40s:probe"]; !ok {
		t.Fatal("set not created")
	}
	if _, ok := kernel(t, b)["cali40s:probe"]; ok {
		t.Fatal("a set created in one netns is visible in another: tests cannot be isolated on this kernel")
	}
}

func TestApplyFromNothing(t *testing.T) {
	for _, tc := range []struct {
		v           int
		name, other string
		in          []string
		want        []string
	}{
		{4, "cali40s:a", "cali40s:b", []string{"10.0.0.2/32", "10.0.0.1/32", "10.1.2.3/16", "10.0.0.1/32"},
			[]string{"10.0.0.1", "10.0.0.2", "10.1.0.0/16"}},
		{6, "cali60s:a", "cali60s:b", []string{"2001:db8::2/128", "2001:db8:1::5/64"},
			[]string{"2001:db8::2", "2001:db8:1::/64"}},
	} {
		t.Run(fmt.Sprintf("IPv%d", tc.v), func(t *testing.T) {
			m, rec := newManager(t, tc.v)
			m.SetDesired(map[string][]netip.Prefix{tc.name: prefixes(tc.in...), tc.other: nil})
			applyUpdates(t, m)
			checkSet(t, m, tc.name, tc.want...)
			checkSet(t, m, tc.other)
			if b := rec.take(); len(b) != 1 {
				t.Fatalf("%d restore batches, want one", len(b))
			}
			applyUpdates(t, m)
			applyDeletions(t, m)
			if b := rec.take(); len(b) != 0 {
				t.Fatalf("in sync, yet wrote %q", b)
			}
		})
	}
}

func TestMembershipChangeWritesOnlyTheDelta(t *testing.T) {
	m, rec := newManager(t, 4)
	m.SetDesired(map[string][]netip.Prefix{"cali40s:a": prefixes("10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32")})
	applyUpdates(t, m)
	rec.take()
	m.SetDesired(map[string][]netip.Prefix{"cali40s:a": prefixes("10.0.0.1/32", "10.0.0.3/32", "10.0.9.0/24")})
	applyUpdates(t, m)
	want := [][]string{{"del cali40s:a 10.0.0.2", "add cali40s:a 10.0.9.0/24"}}
	if got := rec.take(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("batches %q, want %q", got, want)
	}
	checkSet(t, m, "cali40s:a", "10.0.0.1", "10.0.0.3", "10.0.9.0/24")
}

func TestHealing(t *testing.T) {
	const name = "cali40s:a"
	for _, tc := range []struct {
		desc   string
		broken []string // an ipset command run by hand
		want   []string // the healing batch
	}{
		{"flushed", []string{"flush", name}, []string{"add " + name + " 10.0.0.1", "add " + name + " 10.0.0.2"}},
		{"member deleted", []string{"del", name, "10.0.0.2"}, []string{"add " + name + " 10.0.0.2"}},
		{"member added", []string{"add", name, "10.9.0.0/16"}, []string{"del " + name + " 10.9.0.0/16"}},
		{"nomatch flag set", []string{"add", name, "10.0.0.2", "nomatch", "-exist"}, []string{"add " + name + " 10.0.0.2"}},
		{"destroyed", []string{"destroy", name}, []string{"create " + name + " hash:net family inet maxelem 1048576",
			"add " + name + " 10.0.0.1", "add " + name + " 10.0.0.2"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			m, rec := newManager(t, 4)
			m.SetDesired(map[string][]netip.Prefix{name: prefixes("10.0.0.1/32", "10.0.0.2/32")})
			applyUpdates(t, m)
			rec.take()
			run(t, m.cfg.Runner, "ipset", tc.broken...)
			applyUpdates(t, m)
			if got := rec.take(); len(got) != 1 || !slices.Equal(got[0], tc.want) {
				t.Fatalf("healing batches %q, want [%q]", got, tc.want)
			}
			checkSet(t, m, name, "10.0.0.1", "10.0.0.2")
		})
	}
}

func TestForeignSetsUntouched(t *testing.T) {
	m, rec := newManager(t, 4)
	r := m.cfg.Runner
	run(t, r, "ipset", "create", "foo", "hash:ip")
	run(t, r, "ipset", "add", "foo", "192.0.2.1")
	run(t, r, "ipset", "create", "cali60s:v6", "hash:net", "family", "inet6") // the IPv6 manager's
	run(t, r, "ipset", "add", "cali60s:v6", "2001:db8::/64")
	m.SetDesired(map[string][]netip.Prefix{"cali40s:a": prefixes("10.0.0.1/32")})
	applyUpdates(t, m)
	m.SetDesired(nil)
	applyUpdates(t, m)
	applyDeletions(t, m)
	for _, b := range rec.take() {
		for _, l := range b {
			if strings.Contains(l, "foo") || strings.Contains(l, "cali60") {
				t.Errorf("batch line %q touches a foreign set", l)
			}
		}
	}
	sets := kernel(t, r)
	if s := sets["foo"]; s == nil || !slices.Equal(members(s), []string{"192.0.2.1"}) {
		t.Errorf("foreign set foo changed: %+v", s)
	}
	if s := sets["cali60s:v6"]; s == nil || !slices.Equal(members(s), []string{"2001:db8::/64"}) {
		t.Errorf("IPv6 manager's set changed: %+v", s)
	}
	if _, ok := sets["cali40s:a"]; ok {
		t.Error("our stale set survived ApplyDeletions")
	}
}

func TestStaleSetDestroyedOnlyInDeletionPhase(t *testing.T) {
	m, rec := newManager(t, 4)
	r := m.cfg.Runner
	m.SetDesired(map[string][]netip.Prefix{"cali40s:keep": nil, "cali40s:old": prefixes("10.0.0.1/32")})
	applyUpdates(t, m)
	rule := []string{"INPUT", "-m", "set", "--match-set", "cali40s:old", "src", "-j", "ACCEPT"}
	run(t, r, "iptables", append([]string{"-A"}, rule...)...)  // as the current policy would
	run(t, r, "ipset", "create", "cali40s:byhand", "hash:net") // ours by name: stale too
	rec.take()

	m.SetDesired(map[string][]netip.Prefix{"cali40s:keep": nil})
	applyUpdates(t, m)
	if _, ok := kernel(t, r)["cali40s:old"]; !ok || len(rec.take()) != 0 {
		t.Fatal("ApplyUpdates touched a set that is no longer desired")
	}
	applyDeletions(t, m) // iptables still references cali40s:old: skipped, no error
	sets := kernel(t, r)
	if _, ok := sets["cali40s:old"]; !ok {
		t.Fatal("referenced set destroyed")
	}
	if _, ok := sets["cali40s:byhand"]; ok {
		t.Fatal("unreferenced stale set survived")
	}
	run(t, r, "iptables", append([]string{"-D"}, rule...)...) // the iptables apply
	applyDeletions(t, m)
	sets = kernel(t, r)
	if _, ok := sets["cali40s:old"]; ok {
		t.Fatal("stale set survived once unreferenced")
	}
	checkSet(t, m, "cali40s:keep")
}

func TestWrongParametersReplaced(t *testing.T) {
	m, rec := newManager(t, 4)
	r := m.cfg.Runner
	// Wrong maxelem, in use by a rule: swapped under the rule.
	run(t, r, "ipset", "create", "cali40s:size", "hash:net", "maxelem", "1000")
	run(t, r, "ipset", "add", "cali40s:size", "10.9.9.9")
	run(t, r, "iptables", "-A", "INPUT", "-m", "set", "--match-set", "cali40s:size", "src", "-j", "ACCEPT")
	// Wrong type, unused: destroyed and re-created.
	run(t, r, "ipset", "create", "cali40s:type", "hash:ip")
	// Wrong family and in use: cannot be fixed, reported.
	run(t, r, "ipset", "create", "cali40s:fam", "hash:net", "family", "inet6")
	run(t, r, "ip6tables", "-A", "INPUT", "-m", "set", "--match-set", "cali40s:fam", "src", "-j", "ACCEPT")
	// Left over from an interrupted replace.
	run(t, r, "ipset", "create", m.tmpName, "hash:ip")
	want := prefixes("10.0.0.1/32", "10.0.1.0/24")
	m.SetDesired(map[string][]netip.Prefix{"cali40s:size": want, "cali40s:type": want, "cali40s:fam": want})

	err := m.ApplyUpdates(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ipset cali40s:fam") {
		t.Fatalf("ApplyUpdates error %v, want one naming cali40s:fam", err)
	}
	checkSet(t, m, "cali40s:size", "10.0.0.1", "10.0.1.0/24")
	checkSet(t, m, "cali40s:type", "10.0.0.1", "10.0.1.0/24")
	sets := kernel(t, r)
	if s := sets["cali40s:size"]; s.refs != 1 {
		t.Errorf("swapped set has %d references, want the rule's 1", s.refs)
	}
	if _, ok := sets[m.tmpName]; ok {
		t.Errorf("temporary set %s left behind", m.tmpName)
	}
	batch := rec.take()[0]
	if !slices.Contains(batch, "swap "+m.tmpName+" cali40s:size") || slices.Contains(batch, "flush cali40s:size") {
		t.Errorf("batch %q does not swap cali40s:size", batch)
	}
}

func TestFailuresAreRetried(t *testing.T) {
	for _, tc := range []struct {
		desc      string
		failArg   string
		keepLines int
	}{
		{"read fails", "list", 0},
		{"restore fails", "restore", 0},
		{"restore stops half way", "restore", 3},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := &faulty{Runner: newNS(t), failArg: tc.failArg, keepLines: tc.keepLines}
			m := New(Config{IPVersion: 4, Runner: f})
			m.SetDesired(map[string][]netip.Prefix{
				"cali40s:a": prefixes("10.0.0.1/32", "10.0.0.2/32"), "cali40s:b": prefixes("10.0.0.3/32")})
			if err := m.ApplyUpdates(context.Background()); !errors.Is(err, errInjected) {
				t.Fatalf("ApplyUpdates with a failing runner: %v, want the injected error", err)
			}
			applyUpdates(t, m)
			checkSet(t, m, "cali40s:a", "10.0.0.1", "10.0.0.2")
			checkSet(t, m, "cali40s:b", "10.0.0.3")
		})
	}
}

func TestOversizedSetKeepsItsContent(t *testing.T) {
	m, _ := newManager(t, 4)
	r := m.cfg.Runner
	run(t, r, "ipset", "create", "cali40s:full", "hash:net", "maxelem", "1")
	run(t, r, "ipset", "add", "cali40s:full", "10.0.0.1")
	m = New(Config{IPVersion: 4, Runner: r, MaxSize: 1})
	m.SetDesired(map[string][]netip.Prefix{"cali40s:full": prefixes("10.0.0.1/32", "10.0.0.2/32")})
	err := m.ApplyUpdates(context.Background())
	if err == nil || !strings.Contains(err.Error(), "more than the maximum 1") {
		t.Fatalf("oversized set: %v", err)
	}
	checkSetMembers(t, r, "cali40s:full", "10.0.0.1") // kept as it was, not truncated
}

func checkSetMembers(t *testing.T, r Runner, name string, want ...string) {
	t.Helper()
	if s := kernel(t, r)[name]; s == nil || !slices.Equal(members(s), want) {
		t.Fatalf("set %s: %+v, want members %q", name, s, want)
	}
}
