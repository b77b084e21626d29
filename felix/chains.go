package felix

import (
	"fmt"
	"maps"
	"slices"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// ChainForward is our filter chain for forwarded workload traffic.
const ChainForward = "cali-FORWARD"

// FilterState is the desired content of our part of the filter table for
// one IP version: chains we own and rules kept at the top of other chains.
// Policy rendering produces one; until SetFilterState is called the
// Dataplane uses BaseFilterState.
type FilterState struct {
	Chains  []iptables.Chain
	Inserts map[string][]iptables.Rule // e.g. "FORWARD" -> jump to cali-FORWARD
}

// BaseFilterState is the filter table without policy: FORWARD jumps first
// to cali-FORWARD, which accepts traffic from and to workload interfaces
// (Docker sets the FORWARD policy to DROP).
func BaseFilterState(ifacePrefix string) FilterState {
	wildcard := ifacePrefix + "+"
	return FilterState{
		Chains: []iptables.Chain{{Name: ChainForward, Rules: []iptables.Rule{
			{Match: "-i " + wildcard, Action: "ACCEPT"},
			{Match: "-o " + wildcard, Action: "ACCEPT"},
		}}},
		Inserts: map[string][]iptables.Rule{"FORWARD": {{Action: ChainForward}}},
	}
}

// SetFilterState replaces the desired filter-table state for one IP
// version (4 or 6); the next apply programs it. Chains of ours missing from
// st are deleted. st is copied.
func (d *Dataplane) SetFilterState(ipVersion int, st FilterState) {
	cp := FilterState{Chains: make([]iptables.Chain, len(st.Chains)), Inserts: maps.Clone(st.Inserts)}
	for i, c := range st.Chains {
		cp.Chains[i] = iptables.Chain{Name: c.Name, Rules: slices.Clone(c.Rules)}
	}
	for chain, rules := range cp.Inserts {
		cp.Inserts[chain] = slices.Clone(rules)
	}
	d.change(func() { d.filterStates[ipVersion] = &cp })
}

// syncFilterStates hands changed filter states to the tables. A state is
// recognised by identity: every SetFilterState stores a new pointer.
func (k *kernelState) syncFilterStates(states map[int]*FilterState) error {
	for v, t := range k.filters {
		st := states[v]
		if st == nil || st == k.appliedFilters[v] {
			continue
		}
		if err := t.Replace(st.Chains, st.Inserts); err != nil {
			return fmt.Errorf("IPv%d filter state: %w", v, err)
		}
		k.appliedFilters[v] = st
		k.iptablesDirty = true
	}
	return nil
}
