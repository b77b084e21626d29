package calc

import (
	"maps"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// netSet is a GlobalNetworkSet or NetworkSet: labelled CIDRs that rule
// selectors match like endpoints (by source or destination address).
type netSet struct {
	nets   []netip.Prefix
	labels selector.Labels // GlobalMap for a GlobalNetworkSet (global() is true)
}

func (m *Model) updateNetSet(u model.Update) {
	key := u.Kind + "/" + u.Namespace + "/" + u.Name
	if u.Deleted() {
		delete(m.netSets, key)
		return
	}
	var spec resources.NetworkSetSpec
	labels := maps.Clone(u.Object.Meta().Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	ns := &netSet{}
	switch o := u.Object.(type) {
	case *resources.GlobalNetworkSet:
		spec, ns.labels = o.Spec, selector.GlobalMap(labels)
	case *resources.NetworkSet:
		labels[LabelNamespace] = o.Namespace
		spec, ns.labels = o.Spec, selector.Map(labels)
	}
	for _, n := range spec.Nets {
		if p, err := resources.ParseNet(n); err == nil {
			ns.nets = append(ns.nets, p)
		}
	}
	m.netSets[key] = ns
}

// netSetMatches reports whether addr is in a network set sel matches.
func (m *Model) netSetMatches(sel selector.Selector, addr netip.Addr) bool {
	for _, ns := range m.netSets {
		if sel.EvaluateLabels(ns.labels) && inNets(ns.nets, addr) {
			return true
		}
	}
	return false
}
