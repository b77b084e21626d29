package nftrules

import (
	"net/netip"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// Dirty lists what changed in a Table since the driver last programmed
// that same Table (by name, changed or removed): the driver then plans only
// those. A Table without Dirty is planned whole.
type Dirty struct {
	Chains, Sets map[string]bool
}

// Reset empties the lists (the driver programmed the table).
func (t *Table) Reset() { t.Dirty = &Dirty{Chains: map[string]bool{}, Sets: map[string]bool{}} }

// SetChain sets (or adds) one regular chain, converted as Build does (a
// dispatch chain becomes a map lookup), and marks it dirty.
func (t *Table) SetChain(c ipt.Chain) {
	if _, isDispatch := dispatchFlags[c.Name]; isDispatch {
		t.markSet(c.Name)
	}
	t.Chains[c.Name] = t.chain(c)
	t.markChain(c.Name)
}

// RemoveChain removes one regular chain (and a dispatch chain's map).
func (t *Table) RemoveChain(name string) {
	delete(t.Chains, name)
	t.markChain(name)
	if _, isDispatch := dispatchFlags[name]; isDispatch {
		delete(t.Sets, name)
		t.markSet(name)
	}
}

// SetIPSet sets an address set by its ipset name (nil members: removed
// when remove is set) and marks it dirty.
func (t *Table) SetIPSet(ipsetName string, members []netip.Prefix, remove bool) {
	name := SetName(ipsetName)
	if remove {
		delete(t.Sets, name)
	} else {
		t.Sets[name] = Set{Prefixes: members}
	}
	t.markSet(name)
}

func (t *Table) markChain(name string) {
	if t.Dirty != nil {
		t.Dirty.Chains[name] = true
	}
}

func (t *Table) markSet(name string) {
	if t.Dirty != nil {
		t.Dirty.Sets[name] = true
	}
}
