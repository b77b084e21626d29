package policy

import (
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/calc"
)

// Network sets in the Index: a selector's member set holds, beside the
// addresses of the endpoints it matches, the CIDRs of the network sets it
// matches (calc.Model.Members gives the same answer from scratch). A
// changed network set is re-evaluated against every cached selector only;
// it changes no policy list.

// updateNetSets re-evaluates the network sets changed since the last
// settle against every cached selector.
func (x *Index) updateNetSets() {
	for key := range x.dirtyNetSets {
		ns := x.model.NetSet(key) // nil when deleted
		for _, ms := range x.members {
			if ms.updateNetSet(key, ns) {
				x.changed[ms.id] = true
			}
		}
	}
}

// fillNetSets evaluates every network set for a freshly computed set.
func (x *Index) fillNetSets(ms *memberSet) {
	ms.byNet = map[string][]netip.Prefix{}
	for _, ns := range x.model.NetSets() {
		ms.updateNetSet(ns.Key, ns)
	}
}

// updateNetSet re-evaluates one network set (nil: deleted) for the set
// and reports whether its members changed.
func (ms *memberSet) updateNetSet(key string, ns *calc.NetSet) bool {
	if ms.byNet == nil {
		return false // not computed yet
	}
	in := ns != nil && ns.Matches(ms.sel)
	var nets []netip.Prefix
	if in {
		nets = ns.Nets
	}
	return ms.set(ms.byNet, key, nets, in) // index.go
}
