package felix

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/felix/ipsets"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
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
	// IPSets the chains match on: set name -> members. Once any state
	// with IPSets was set, the Dataplane owns the family's IP sets (names
	// starting "cali40s:"/"cali60s:") and destroys those no longer wanted.
	IPSets map[string][]netip.Prefix
	// Raw and Mangle are our part of the raw and mangle tables (host
	// endpoints' untracked and pre-DNAT policy; hosttables.go). Empty:
	// ours removed; the tables are left alone until a state has some.
	Raw, Mangle rules.Table
	// Serial numbers a policy render's state (0: not one); BaseSerial, when
	// not 0, is the Serial of the state it was rendered after: Chains differ
	// from that state's only as Delta says, so a dataplane that applied it
	// rewrites only those chains (follows).
	Serial, BaseSerial uint64
	Delta              rules.Delta
}

// follows reports whether st was rendered right after applied, so that
// st.Delta is the whole change of the chains.
func (st *FilterState) follows(applied *FilterState) bool {
	return applied != nil && st.BaseSerial != 0 && st.BaseSerial == applied.Serial && st.Delta.Incremental
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
	cp := FilterState{Chains: make([]iptables.Chain, len(st.Chains)), Inserts: maps.Clone(st.Inserts),
		IPSets: maps.Clone(st.IPSets), Raw: cloneTable(st.Raw), Mangle: cloneTable(st.Mangle)}
	for name, members := range cp.IPSets {
		cp.IPSets[name] = slices.Clone(members)
	}
	for i, c := range st.Chains {
		cp.Chains[i] = iptables.Chain{Name: c.Name, Rules: slices.Clone(c.Rules)}
	}
	for chain, rules := range cp.Inserts {
		cp.Inserts[chain] = slices.Clone(rules)
	}
	d.change(func() { d.filterStates[ipVersion] = &cp })
}

// syncFilterStates hands changed filter states to the tables and IP set
// managers. A state is recognised by identity: every SetFilterState (and
// every policy render) stores a new pointer. IP sets are marked for
// programming only when their desired content changed, or on a full
// resync (which also repairs what others changed).
func (k *kernelState) syncFilterStates(states map[int]*FilterState, full bool) error {
	for v, t := range k.filters {
		if full && k.sets[v] != nil {
			k.setsChanged[v], k.setsShrunk[v] = true, true
		}
		st, old := states[v], k.appliedFilters[v]
		if st == nil || st == old {
			continue
		}
		if err := replaceChains(t, st, old); err != nil {
			return fmt.Errorf("IPv%d filter state: %w", v, err)
		}
		if err := k.setHostTables(v, st); err != nil { // hosttables.go
			return fmt.Errorf("IPv%d host endpoint tables: %w", v, err)
		}
		k.appliedFilters[v] = st
		k.iptablesDirty = true
		if st.IPSets == nil && k.sets[v] == nil {
			continue // no IP sets used, ever: leave the ipset tool alone
		}
		created := k.sets[v] == nil
		if created {
			// Only felix/rules' selector sets ("cali40s:..."): other cali40 sets
			// (felix/nat's cali40masq-/cali40all-ipam-pools) are not ours to destroy.
			k.sets[v] = ipsets.New(ipsets.Config{IPVersion: v, Prefix: fmt.Sprintf("cali%d0s:", v), Runner: k.runner, Logger: k.log})
			k.setsChanged[v], k.setsShrunk[v] = true, true
		}
		k.syncSets(v, st, old, created)
	}
	return nil
}

// syncSets hands a family's desired IP sets to its manager: by the
// render's set delta when st was rendered right after old (the manager
// holds old's sets), else whole.
func (k *kernelState) syncSets(v int, st, old *FilterState, created bool) {
	if !created && st.follows(old) {
		if d := st.Delta; len(d.SetsChanged)+len(d.SetsRemoved) > 0 {
			k.sets[v].UpdateDesired(st.IPSets, d.SetsChanged, d.SetsRemoved)
			k.setsChanged[v] = true
			k.setsShrunk[v] = k.setsShrunk[v] || len(d.SetsRemoved) > 0
		}
		return
	}
	var oldSets map[string][]netip.Prefix
	if old != nil {
		oldSets = old.IPSets
	}
	if created || !maps.EqualFunc(oldSets, st.IPSets, sameMembers) {
		k.sets[v].SetDesired(st.IPSets)
		k.setsChanged[v] = true
		k.setsShrunk[v] = k.setsShrunk[v] || shrunk(oldSets, st.IPSets)
	}
}

// shrunk reports whether a set of old is missing from cur.
func shrunk(old, cur map[string][]netip.Prefix) bool {
	for name := range old {
		if _, ok := cur[name]; !ok {
			return true
		}
	}
	return false
}

// sameMembers is slices.Equal, at no cost for the same slice (policy
// renders share unchanged member lists).
func sameMembers(a, b []netip.Prefix) bool {
	if len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0]) {
		return true
	}
	return slices.Equal(a, b)
}

// replaceChains sets the table's desired chains to st's: by its delta when
// st was rendered right after old, the state the table holds.
func replaceChains(t *iptables.Table, st, old *FilterState) error {
	if !st.follows(old) {
		return t.Replace(st.Chains, st.Inserts)
	}
	changed := make([]iptables.Chain, 0, len(st.Delta.Changed))
	for _, name := range st.Delta.Changed {
		changed = append(changed, st.chain(name))
	}
	return t.Update(changed, st.Delta.Removed, st.Inserts)
}

// chain returns one of st's chains by name (Chains are sorted by name, as
// a policy render returns them).
func (st *FilterState) chain(name string) iptables.Chain {
	i, _ := slices.BinarySearchFunc(st.Chains, name, func(c iptables.Chain, n string) int { return strings.Compare(c.Name, n) })
	return st.Chains[i]
}
