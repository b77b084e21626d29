package calc

import (
	"net/netip"
	"slices"
	"testing"
)

// TestMembersAgreeWithVerdict: the dataplane's IP set of a selector
// (Members) holds an address exactly when Verdict's selector match holds
// for it, network sets included, with Calico's namespace scoping.
func TestMembersAgreeWithVerdict(t *testing.T) {
	db := nsWep("db", "team-a", "10.0.0.2", map[string]string{"role": "db"})
	web := nsWep("web", "team-b", "10.0.0.3", map[string]string{"role": "partner"})
	yaml := doc(
		"kind: GlobalNetworkSet\nmetadata: {name: partners, labels: {role: partner}}\nspec: {nets: [198.51.100.0/24, 2001:db8:1::/64]}\n",
		"kind: NetworkSet\nmetadata: {name: office, namespace: team-a, labels: {role: office}}\nspec: {nets: [203.0.113.0/28]}\n",
		"kind: NetworkSet\nmetadata: {name: office, namespace: team-b, labels: {role: office}}\nspec: {nets: [192.0.2.0/28]}\n",
		"kind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec: {selector: all(), ingress: [{action: Allow, source: {selector: role == 'partner'}}, {action: Allow, source: {notSelector: has(role)}}]}\n",
		"kind: NetworkPolicy\nmetadata: {name: a, namespace: team-a}\nspec: {selector: all(), ingress: [{action: Allow, source: {selector: role == 'office'}}, {action: Allow, source: {selector: role == 'partner'}}]}\n",
		"kind: NetworkPolicy\nmetadata: {name: b, namespace: team-a}\nspec: {selector: all(), ingress: [{action: Allow, source: {selector: has(role), namespaceSelector: global()}}, {action: Allow, source: {namespaceSelector: all()}}]}\n",
	)
	m := buildModel(t, netProfile+"---\n"+yaml, db, web)
	addrs := []string{"10.0.0.2", "10.0.0.3", "198.51.100.7", "198.51.101.7", "203.0.113.5", "203.0.113.17", "192.0.2.5", "2001:db8:1::9"}
	sels := m.SelectorsInUse()
	if len(sels) < 6 {
		t.Fatalf("%d selectors in use, want at least 6", len(sels))
	}
	for _, sel := range sels {
		members := m.Members(sel)
		if !slices.IsSortedFunc(members, ComparePrefixes) {
			t.Errorf("%s: members not sorted: %v", sel, members)
		}
		for _, s := range addrs {
			a := netip.MustParseAddr(s)
			in := slices.ContainsFunc(members, func(p netip.Prefix) bool { return p.Contains(a) })
			if want := m.selected(sel, a); in != want {
				t.Errorf("%s: %s in members %v = %v, but Verdict's match says %v", sel, s, members, in, want)
			}
		}
	}
	// The namespaced set of team-a: team-a's policy's selector, a
	// namespaceSelector and the global policy's notSelector has(role) hold it.
	office := netip.MustParsePrefix("203.0.113.0/28")
	var holders int
	for _, sel := range sels {
		if slices.Contains(m.Members(sel), office) {
			holders++
		}
	}
	if holders != 3 {
		t.Errorf("team-a's NetworkSet is in %d selectors' members, want 3", holders)
	}
}
