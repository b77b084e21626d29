package calc

import (
	"cmp"
	"strings"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// Tier returns the tier named name as evaluation uses it: stored, or
// Calico's default tier, or for a tier not (yet) stored an unordered tier
// that ends in Deny. Never nil; read only.
func (m *Model) Tier(name string) *resources.Tier { return m.tierOf(name) }

// tierOf returns the tier named name: stored, or Calico's default tier, or
// for a tier not (yet) stored an unordered tier that ends in Deny.
func (m *Model) tierOf(name string) *resources.Tier {
	if t := m.tiers[name]; t != nil {
		return t
	}
	if name == resources.DefaultTierName {
		return m.defaultTier
	}
	return m.unstoredTier
}

// compareTiered orders policies by their tier's order (ascending, unset
// last, ties by tier name), then within a tier by comparePolicies.
func (m *Model) compareTiered(a, b *Policy) int {
	if a.Tier != b.Tier {
		ta, tb := m.tierOf(a.Tier).Spec.Order, m.tierOf(b.Tier).Spec.Order
		switch {
		case ta != nil && tb != nil && *ta != *tb:
			return cmp.Compare(*ta, *tb)
		case ta != nil && tb == nil:
			return -1
		case ta == nil && tb != nil:
			return 1
		}
		return strings.Compare(a.Tier, b.Tier)
	}
	return comparePolicies(a, b)
}

// TierGroups splits policies (in evaluation order, as PoliciesFor returns
// them) into runs of one tier: the dataplane renders one block per run.
func TierGroups(policies []*Policy) [][]*Policy {
	var out [][]*Policy
	for i := 0; i < len(policies); {
		j := i + 1
		for j < len(policies) && policies[j].Tier == policies[i].Tier {
			j++
		}
		out = append(out, policies[i:j])
		i = j
	}
	return out
}
