package nft

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"

	"github.com/google/nftables"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

// plan queues the messages that turn known into t and returns the state
// the kernel will hold once they are committed. Order matters for the
// kernel's checks within the batch (the commit itself is atomic): chains
// before the set elements and rules that refer to them, rules rewritten
// before stale chains and sets they referred to go.
func (d *Driver) plan(v int, t *nftrules.Part, known *state) (*state, error) {
	table := ourTable(v, t.Name)
	if !known.exists {
		d.tx.build.AddTable(table)
	}
	if !known.sel {
		if err := d.tx.build.AddSet(selectorSet(table), nil); err != nil {
			return nil, err
		}
	}
	if err := claimRead(t, known); err != nil {
		return nil, err
	}
	next := &state{exists: true, sel: true, chains: make(map[string]*chainState, len(t.Chains)+len(t.Hooks)),
		sets: make(map[string]*setState, len(t.Sets))}
	// Map order is fine: within a batch only existence matters, and the
	// commit is atomic.
	for name := range t.Chains {
		if known.chains[name] == nil {
			d.tx.build.AddChain(&nftables.Chain{Name: name, Table: table})
		}
	}
	for _, h := range t.Hooks {
		if err := d.addHook(table, h, known); err != nil {
			return nil, err
		}
	}
	for name, want := range t.Sets {
		st, err := d.planSet(table, name, want, known.sets[name], nil)
		if err != nil {
			return nil, err
		}
		next.sets[name] = st
	}
	for name, src := range t.Chains {
		st, err := d.planChain(table, name, src, known.chains[name])
		if err != nil {
			return nil, err
		}
		next.chains[name] = st
	}
	if err := d.planHooks(table, t, known, next); err != nil {
		return nil, err
	}
	d.removeStale(table, known, next)
	return next, nil
}

// addHook queues base chain h when the kernel does not hold it; a netdev
// one (egress mode) also when it hooks other devices than h's: it is
// then re-created, and its rules written again (it leaves known).
func (d *Driver) addHook(table *nftables.Table, h nftrules.Hook, known *state) error {
	k := known.chains[h.Name]
	if h.Hook != nftrules.EgressHook {
		if k == nil {
			d.tx.build.AddChain(baseChain(table, h))
		}
		return nil
	}
	if k != nil && sameDevices(k.devices, h.Devices) {
		return nil
	}
	if k != nil {
		c := &nftables.Chain{Name: h.Name, Table: table}
		d.tx.build.FlushChain(c)
		d.tx.build.DelChain(c)
		delete(known.chains, h.Name)
		d.rewrites++
	}
	return d.addNetdevChain(table, h)
}

// hookNums are the netfilter hooks of an IP family's base chains by name
// (nftrules.Hook.Hook).
var hookNums = map[string]*nftables.ChainHook{"prerouting": nftables.ChainHookPrerouting, "forward": nftables.ChainHookForward,
	"input": nftables.ChainHookInput, "output": nftables.ChainHookOutput, "postrouting": nftables.ChainHookPostrouting}

func baseChain(table *nftables.Table, h nftrules.Hook) *nftables.Chain {
	typ := nftables.ChainTypeFilter
	if h.NAT {
		typ = nftables.ChainTypeNAT
	}
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{Name: h.Name, Table: table, Hooknum: hookNums[h.Hook], Type: typ,
		Priority: nftables.ChainPriorityRef(nftables.ChainPriority(h.Priority)), Policy: &accept}
}

// planChain rewrites a chain whose rules differ from the kernel's. A chain
// new to the kernel is compiled and encoded by the pool (encode.go).
func (d *Driver) planChain(table *nftables.Table, name string, src []iptables.Rule, known *chainState) (*chainState, error) {
	if known != nil && known.src != nil && slices.Equal(known.src, src) {
		return known, nil
	}
	if known == nil {
		d.rewrites++
		st := &chainState{src: src}
		return st, d.tx.addJob(&chainJob{table: table, name: name, src: src, st: st})
	}
	compiled, hashes, err := compileChain(table, name, src)
	if err != nil {
		return nil, err
	}
	st := &chainState{src: src, hashes: hashes}
	if slices.Equal(known.hashes, hashes) {
		return st, nil
	}
	d.rewrites++
	d.tx.build.FlushChain(&nftables.Chain{Name: name, Table: table})
	addRules(d.tx.build, table, name, compiled, hashes)
	return st, nil
}

// removeStale flushes and deletes our chains and sets that are no longer
// desired (all chains flushed first: they may refer to each other).
func (d *Driver) removeStale(table *nftables.Table, known, next *state) {
	var chains, sets []string
	for _, name := range slices.Sorted(maps.Keys(known.chains)) {
		if next.chains[name] == nil {
			chains = append(chains, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(known.sets)) {
		if next.sets[name] == nil {
			sets = append(sets, name)
		}
	}
	d.remove(table, known, chains, sets)
	for _, name := range known.legacy {
		d.tx.build.DelSet(&nftables.Set{Name: name, Table: table})
	}
}

// claimRead names the address sets read back by number (readback.go)
// after the sets of t they belong to, and refuses two sets of t with one
// number: they would share members.
func claimRead(t *nftrules.Part, known *state) error {
	ids := make(map[[8]byte]string, len(t.Sets))
	for name, want := range t.Sets {
		if want.IsVMap() {
			continue
		}
		id := nftrules.SetID(name)
		if other, ok := ids[id]; ok {
			return fmt.Errorf("address sets %s and %s of table %s have the same number in %s: rename one",
				other, name, t.Name, nftrules.SelectorSet)
		}
		ids[id] = name
		if read, ok := known.sets[readName(id)]; ok {
			delete(known.sets, readName(id))
			known.sets[name] = read
		}
	}
	return nil
}

// readName is the name of an address set read back by its number.
func readName(id [8]byte) string { return "#" + hex.EncodeToString(id[:]) }

// remove flushes and deletes chains and sets the kernel holds (known).
func (d *Driver) remove(table *nftables.Table, known *state, chains, sets []string) {
	d.rewrites += len(chains)
	for _, name := range chains {
		d.tx.build.FlushChain(&nftables.Chain{Name: name, Table: table})
	}
	for _, name := range sets {
		if known.sets[name].vmap {
			d.tx.build.FlushSet(&nftables.Set{Name: name, Table: table}) // its entries name stale chains
		}
	}
	for _, name := range chains {
		d.tx.build.DelChain(&nftables.Chain{Name: name, Table: table})
	}
	for _, name := range sets {
		if k := known.sets[name]; k.shared {
			d.dropMembers(table, k)
			continue
		}
		d.tx.build.DelSet(&nftables.Set{Name: name, Table: table})
	}
}

// planDirty is plan for a part the kernel held before its last changes
// (t.Dirty): only the chains and sets named there, and the base chains,
// are compared and written. known is updated in place (a failed
// transaction makes the driver forget it).
func (d *Driver) planDirty(v int, t *nftrules.Part, known *state) (*state, error) {
	table := ourTable(v, t.Name)
	var staleChains, staleSets []string
	for _, name := range slices.Sorted(maps.Keys(t.Dirty.Chains)) {
		_, want := t.Chains[name]
		switch {
		case want && known.chains[name] == nil:
			d.tx.build.AddChain(&nftables.Chain{Name: name, Table: table})
		case !want && known.chains[name] != nil:
			staleChains = append(staleChains, name)
		}
	}
	for _, h := range t.Hooks {
		if err := d.addHook(table, h, known); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(t.Dirty.Sets)) {
		want, ok := t.Sets[name]
		if !ok {
			if known.sets[name] != nil {
				staleSets = append(staleSets, name)
			}
			continue
		}
		st, err := d.planSet(table, name, want, known.sets[name], t.Dirty.Keys[name])
		if err != nil {
			return nil, err
		}
		known.sets[name] = st
	}
	for name := range t.Dirty.Chains {
		if src, ok := t.Chains[name]; ok {
			st, err := d.planChain(table, name, src, known.chains[name])
			if err != nil {
				return nil, err
			}
			known.chains[name] = st
		}
	}
	if err := d.planHooks(table, t, known, known); err != nil {
		return nil, err
	}
	d.remove(table, known, staleChains, staleSets)
	for _, name := range staleChains {
		delete(known.chains, name)
	}
	for _, name := range staleSets {
		delete(known.sets, name)
	}
	return known, nil
}

// planHooks plans the base chains of t into next.
func (d *Driver) planHooks(table *nftables.Table, t *nftrules.Part, known, next *state) error {
	for _, h := range t.Hooks {
		st, err := d.planChain(table, h.Name, h.Rules, known.chains[h.Name])
		if err != nil {
			return err
		}
		st.base, st.devices = true, h.Devices
		next.chains[h.Name] = st
	}
	return nil
}
