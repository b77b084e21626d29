package ipsets

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// good is a kernel set of ours with the right parameters and members.
func good(v int, ms ...string) *kernelSet {
	family := "inet"
	if v == 6 {
		family = "inet6"
	}
	s := &kernelSet{typ: setType, family: family, maxElem: DefaultMaxSize, members: map[netip.Prefix]bool{}}
	for _, m := range ms {
		s.members[netip.MustParsePrefix(m)] = true
	}
	return s
}

func TestPlanUpdates(t *testing.T) {
	const c = "create cali40s:a hash:net family inet maxelem 1048576"
	desired := map[string][]netip.Prefix{"cali40s:a": prefixes("10.0.0.1/32", "10.0.0.0/24")}
	for _, tc := range []struct {
		name    string
		actual  map[string]*kernelSet
		want    []string
		wantErr string
	}{
		{name: "nothing there", actual: nil,
			want: []string{c, "add cali40s:a 10.0.0.0/24", "add cali40s:a 10.0.0.1"}},
		{name: "in sync", actual: map[string]*kernelSet{"cali40s:a": good(4, "10.0.0.1/32", "10.0.0.0/24")}},
		{name: "one missing, one extra, one junk", actual: map[string]*kernelSet{"cali40s:a": func() *kernelSet {
			s := good(4, "10.0.0.1/32", "10.9.0.0/16")
			s.junk = []string{"bogus"}
			return s
		}()}, want: []string{"del cali40s:a bogus", "del cali40s:a 10.9.0.0/16", "add cali40s:a 10.0.0.0/24"}},
		{name: "member with nomatch", actual: map[string]*kernelSet{"cali40s:a": func() *kernelSet {
			s := good(4, "10.0.0.1/32", "10.0.0.0/24")
			s.members[netip.MustParsePrefix("10.0.0.0/24")] = false
			return s
		}()}, want: []string{"add cali40s:a 10.0.0.0/24"}},
		{name: "extension: swapped", actual: map[string]*kernelSet{"cali40s:a": func() *kernelSet {
			s := good(4, "10.0.0.1/32", "10.0.0.0/24")
			s.extras = []string{"counters"}
			return s
		}()}, want: []string{"create cali40-tmp hash:net family inet maxelem 1048576", "add cali40-tmp 10.0.0.0/24",
			"add cali40-tmp 10.0.0.1", "swap cali40-tmp cali40s:a", "destroy cali40-tmp"}},
		{name: "wrong type, unused: re-created", actual: map[string]*kernelSet{"cali40s:a": {typ: "hash:ip", family: "inet"}},
			want: []string{"destroy cali40s:a", c, "add cali40s:a 10.0.0.0/24", "add cali40s:a 10.0.0.1"}},
		{name: "wrong family, in use: error", wantErr: "ipset cali40s:a: is hash:net family inet6",
			actual: map[string]*kernelSet{"cali40s:a": {typ: "hash:net", family: "inet6", refs: 1}}},
		{name: "temp set left over", actual: map[string]*kernelSet{"cali40s:a": good(4, "10.0.0.1/32", "10.0.0.0/24"),
			"cali40-tmp": {typ: "hash:net"}}, want: []string{"destroy cali40-tmp"}},
		{name: "temp set in use: no swap", wantErr: "ipset cali40s:a: cannot replace it: temporary set",
			actual: map[string]*kernelSet{"cali40s:a": func() *kernelSet {
				s := good(4, "10.0.0.1/32")
				s.maxElem = 5
				return s
			}(), "cali40-tmp": {typ: "hash:net", refs: 1}}},
		{name: "stale and foreign sets ignored", actual: map[string]*kernelSet{"cali40s:a": good(4, "10.0.0.1/32", "10.0.0.0/24"),
			"cali40s:old": good(4), "foo": {typ: "hash:ip"}, "cali60s:a": good(6)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Config{IPVersion: 4, Runner: &recorder{}})
			m.SetDesired(desired)
			p := m.planUpdates(tc.actual, m.planNames(false))
			if !slices.Equal(p.lines, tc.want) {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(p.lines, "\n"), strings.Join(tc.want, "\n"))
			}
			err := errors.Join(p.errs...)
			if (err != nil || tc.wantErr != "") && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("errors %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestPlanDeletions(t *testing.T) {
	m := New(Config{IPVersion: 4, Runner: &recorder{}, MaxSize: 1})
	m.SetDesired(map[string][]netip.Prefix{"cali40s:keep": nil, "cali40s:big": prefixes("10.0.0.1/32", "10.0.0.2/32")})
	actual := map[string]*kernelSet{"cali40s:keep": good(4), "cali40s:big": good(4), "cali40s:old": good(4),
		"cali40s:used": {refs: 1}, "foo": {}, "cali60s:x": {}}
	lines, busy := m.planDeletions(actual)
	if !slices.Equal(lines, []string{"destroy cali40s:old"}) || !slices.Equal(busy, []string{"cali40s:used"}) {
		t.Errorf("lines %q busy %q", lines, busy)
	}
}

func TestSetDesiredNormalizes(t *testing.T) {
	for _, tc := range []struct {
		v       int
		in      []string
		want    []string
		wantErr string
	}{
		{4, []string{"10.0.0.7/24", "10.0.0.0/24", "10.0.0.1/32"}, []string{"10.0.0.0/24", "10.0.0.1/32"}, ""},
		{4, []string{"0.0.0.0/0"}, []string{"0.0.0.0/1", "128.0.0.0/1"}, ""},
		{6, []string{"::/0", "2001:db8::1/64"}, []string{"::/1", "2001:db8::/64", "8000::/1"}, ""},
		{4, []string{"10.0.0.1/32", "2001:db8::1/128"}, []string{"10.0.0.1/32"}, "not IPv4 prefixes"},
		{6, []string{"10.0.0.1/32"}, nil, "not IPv6 prefixes"},
	} {
		m := New(Config{IPVersion: tc.v, Runner: &recorder{}})
		name := m.cfg.Prefix + "s:x"
		m.SetDesired(map[string][]netip.Prefix{name: prefixes(tc.in...)})
		var got []string
		for _, p := range m.desired[name] {
			got = append(got, p.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("IPv%d %q normalised to %q, want %q", tc.v, tc.in, got, tc.want)
		}
		if (m.invalid != nil || tc.wantErr != "") && (m.invalid == nil || !strings.Contains(m.invalid.Error(), tc.wantErr)) {
			t.Errorf("IPv%d %q: problems %v, want %q", tc.v, tc.in, m.invalid, tc.wantErr)
		}
	}
}

func TestSetDesiredRejectsNames(t *testing.T) {
	m := New(Config{IPVersion: 4, Runner: &recorder{}})
	bad := []string{"foo", "cali60s:x", "cali40-tmp", "cali40s:has space", "cali40s:" + strings.Repeat("x", 30)}
	sets := map[string][]netip.Prefix{"cali40s:ok": nil}
	for _, n := range bad {
		sets[n] = nil
	}
	m.SetDesired(sets)
	if len(m.desired) != 1 || m.invalid == nil {
		t.Fatalf("desired %v, problems %v", m.desired, m.invalid)
	}
	for _, n := range bad {
		if !strings.Contains(m.invalid.Error(), n) {
			t.Errorf("problem with %q not reported: %v", n, m.invalid)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{IPVersion: 5, Runner: &recorder{}},
		{IPVersion: 4},
		{IPVersion: 4, Runner: &recorder{}, Prefix: strings.Repeat("p", 28)},
	} {
		if New(cfg).cfgErr == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestFailedLine(t *testing.T) {
	lines := []string{"create a hash:net", "add a 10.0.0.1"}
	err := errors.New("ipset restore -exist: exit status 1: ipset v7.17: Error in line 2: Hash is full")
	if got := failedLine(err, lines); got != `, line 2 "add a 10.0.0.1"` {
		t.Errorf("failedLine = %q", got)
	}
	if got := failedLine(errors.New("Error in line 9: x"), lines); got != "" {
		t.Errorf("out of range line quoted: %q", got)
	}
}

// TestUpdateDesiredEqualsSetDesired: desired states given as deltas leave
// the Manager as the whole states do (members, held sets, problems).
func TestUpdateDesiredEqualsSetDesired(t *testing.T) {
	big := make([]netip.Prefix, 5)
	for i := range big {
		big[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 9, 0, byte(i)}), 32)
	}
	states := []map[string][]netip.Prefix{
		{"cali40s:a": prefixes("10.0.0.1/32"), "cali40s:b": prefixes("10.0.0.2/32", "10.0.0.0/8")},
		{"cali40s:a": prefixes("10.0.0.1/32", "fd00::1/128"), "cali40s:big": big, "other": prefixes("10.0.0.3/32")},
		{"cali40s:b": prefixes("10.0.0.4/32"), "cali40s:big": big[:2]},
		{},
	}
	delta := New(Config{IPVersion: 4, Runner: &recorder{}, MaxSize: 3})
	var prev map[string][]netip.Prefix
	for i, st := range states {
		whole := New(Config{IPVersion: 4, Runner: &recorder{}, MaxSize: 3})
		whole.SetDesired(st)
		changed, removed := setDelta(prev, st)
		delta.UpdateDesired(st, changed, removed)
		prev = st
		if !reflect.DeepEqual(delta.desired, whole.desired) || !maps.Equal(delta.held, whole.held) ||
			fmt.Sprint(delta.invalid) != fmt.Sprint(whole.invalid) {
			t.Fatalf("state %d: by delta desired %v held %v problems %v; whole %v %v %v", i,
				delta.desired, delta.held, delta.invalid, whole.desired, whole.held, whole.invalid)
		}
	}
}
