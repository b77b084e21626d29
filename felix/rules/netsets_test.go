package rules

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestNetworkSetsInIPSets: a rule selector's IP set holds the CIDRs of the
// network sets it matches beside the endpoints' addresses, per family.
func TestNetworkSetsInIPSets(t *testing.T) {
	yaml := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata: {name: a-name-for-the-set, labels: {role: external-database}}
spec: {nets: [198.51.100.0/28, 203.0.113.0/24, 2001:db8::/64]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: to-db}
spec:
  selector: all()
  types: [Egress]
  egress: [{action: Allow, destination: {selector: role == 'external-database'}}]
`
	m := buildModel(t, yaml, wep("db", "h1", "10.0.0.9", map[string]string{"role": "external-database"}),
		wep("web", "h1", "10.0.0.1", nil))
	for v, want := range map[int][]string{4: {"10.0.0.9/32", "198.51.100.0/28", "203.0.113.0/24"}, 6: {"2001:db8::/64"}} {
		res := Render(m, "h1", Config{IPVersion: v})
		var sets [][]netip.Prefix
		for name, members := range res.IPSets {
			if strings.Contains(name, "s:") {
				sets = append(sets, members)
			}
		}
		if len(sets) != 1 {
			t.Fatalf("IPv%d: %d selector IP sets, want 1: %v", v, len(sets), res.IPSets)
		}
		var got []string
		for _, p := range sets[0] {
			got = append(got, p.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("IPv%d: IP set members %v, want %v", v, got, want)
		}
	}
}
