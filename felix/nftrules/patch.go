package nftrules

import (
	"net/netip"
	"slices"
	"strings"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Dirty lists what changed in a Part since the driver last programmed that
// same Part (by name, changed or removed): the driver then plans only
// those. A Part without Dirty is planned whole.
type Dirty struct {
	Chains, Sets map[string]bool
	// Keys, for a verdict map in Sets, are the only interfaces whose
	// element may have changed (a map absent here: any may have). An
	// endpoint coming or going changes two elements of a 10,000-element
	// map; the driver compared all of them (~2.5 ms a container start).
	Keys  map[string]map[string]bool
	whole map[string]bool // sets marked whole since the last Reset: never in Keys
}

// Reset empties the part's change lists (the driver programmed it).
func (p *Part) Reset() { p.Dirty = &Dirty{Chains: map[string]bool{}, Sets: map[string]bool{}} }

func (p *Part) markChain(name string) {
	if p.Dirty != nil {
		p.Dirty.Chains[name] = true
	}
}

func (p *Part) markSet(name string) {
	if p.Dirty != nil {
		p.Dirty.Sets[name] = true
		if p.Dirty.whole == nil {
			p.Dirty.whole = map[string]bool{}
		}
		p.Dirty.whole[name] = true
		delete(p.Dirty.Keys, name)
	}
}

// markKeys records that verdict map name changed at most at keys.
func (p *Part) markKeys(name string, keys map[string]bool) {
	if p.Dirty == nil || p.Dirty.whole[name] {
		return
	}
	p.Dirty.Sets[name] = true
	if p.Dirty.Keys == nil {
		p.Dirty.Keys = map[string]map[string]bool{}
	}
	if p.Dirty.Keys[name] == nil {
		p.Dirty.Keys[name] = map[string]bool{}
	}
	for k := range keys {
		p.Dirty.Keys[name][k] = true
	}
}

// Reset marks every part programmed (the driver calls each part's Reset;
// this is for callers that program the parts themselves).
func (t *Table) Reset() {
	for _, p := range t.Parts() {
		p.Reset()
	}
}

// SetChain sets (or adds) one regular chain, converted as Build does (a
// dispatch chain becomes a map lookup); the parts holding it, or coming
// to, are updated at the next Parts.
func (t *Table) SetChain(c ipt.Chain) {
	if _, isDispatch := dispatchFlags[c.Name]; isDispatch {
		t.pendingChange("", c.Name)
	}
	t.Chains[c.Name] = t.chain(c)
	t.pendingChange(c.Name, "")
	t.inlineFollow(c.Name, true)
	for _, dispatch := range t.refold(c.Name) {
		t.pendingChange("", dispatch)
	}
}

// RemoveChain removes one regular chain (and a dispatch chain's map).
func (t *Table) RemoveChain(name string) {
	delete(t.Chains, name)
	t.pendingChange(name, "")
	t.inlineFollow(name, false)
	for _, dispatch := range t.refold(name) {
		t.pendingChange("", dispatch)
	}
	if _, isDispatch := dispatchFlags[name]; isDispatch {
		t.dropDispatch(name)
		t.pendingChange("", name)
	}
}

// SetIPSet sets an address set by its ipset name (nil members: removed
// when remove is set).
func (t *Table) SetIPSet(ipsetName string, members []netip.Prefix, remove bool) {
	name := SetName(ipsetName)
	if remove {
		delete(t.Sets, name)
	} else {
		t.Sets[name] = Set{Prefixes: members}
	}
	t.pendingChange("", name)
}

// ApplyDelta patches t with a render's delta: the chains it names changed
// are taken from chains (sorted by name, as a rules.Result holds them),
// the sets from sets.
func (t *Table) ApplyDelta(d rules.Delta, chains []ipt.Chain, sets map[string][]netip.Prefix) {
	for _, name := range d.Changed {
		if _, isDispatch := dispatchFlags[name]; isDispatch && d.Dispatch != nil && t.dispatch[name] != nil {
			t.patchDispatch(name, d.Dispatch)
			continue
		}
		if i, ok := slices.BinarySearchFunc(chains, name, func(c ipt.Chain, n string) int { return strings.Compare(c.Name, n) }); ok {
			t.SetChain(chains[i])
		}
	}
	for _, name := range d.Removed {
		t.RemoveChain(name)
	}
	for _, name := range d.SetsChanged {
		t.SetIPSet(name, sets[name], false)
	}
	for _, name := range d.SetsRemoved {
		t.SetIPSet(name, nil, true)
	}
}
