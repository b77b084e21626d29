package calc

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// NetSet is a compiled GlobalNetworkSet or NetworkSet: labelled CIDRs that
// rule selectors match like endpoints (by source or destination address).
// Members includes the Nets of every NetSet a selector matches, so the
// dataplane's IP set of a selector (hash:net) holds endpoint addresses and
// network set CIDRs alike.
type NetSet struct {
	Key  string         // NetSetKey: "GlobalNetworkSet//name" or "NetworkSet/<namespace>/name"
	Nets []netip.Prefix // masked, in spec order; unparsable entries dropped (validation refuses them)
	// Labels are the set's labels as selectors see them: a NetworkSet's
	// carry projectcalico.org/namespace, so only policies of its namespace
	// (or a rule's namespaceSelector) match it; a GlobalNetworkSet's are
	// global (global() is true, no namespace), so only global policies and
	// namespaceSelector global() match it.
	Labels selector.Labels
}

// NetSetKey is the key of a network set (namespace "" for global ones).
func NetSetKey(kind, namespace, name string) string {
	if kind == resources.KindNetworkSet {
		namespace = cmp.Or(namespace, resources.DefaultNamespace)
	}
	return kind + "/" + namespace + "/" + name
}

func (m *Model) updateNetSet(u model.Update) {
	key := NetSetKey(u.Kind, u.Namespace, u.Name)
	if u.Deleted() {
		delete(m.netSets, key)
		return
	}
	var spec resources.NetworkSetSpec
	labels := maps.Clone(u.Object.Meta().Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	ns := &NetSet{Key: key}
	switch o := u.Object.(type) {
	case *resources.GlobalNetworkSet:
		spec, ns.Labels = o.Spec, selector.GlobalMap(labels)
	case *resources.NetworkSet:
		labels[LabelNamespace] = cmp.Or(o.Namespace, resources.DefaultNamespace)
		spec, ns.Labels = o.Spec, selector.Map(labels)
	}
	for _, n := range spec.Nets {
		if p, err := resources.ParseNet(n); err == nil {
			ns.Nets = append(ns.Nets, p.Masked())
		}
	}
	m.netSets[key] = ns
}

// NetSet returns a network set by NetSetKey, or nil.
func (m *Model) NetSet(key string) *NetSet { return m.netSets[key] }

// NetSets returns every network set, in no particular order.
func (m *Model) NetSets() []*NetSet { return slices.Collect(maps.Values(m.netSets)) }

// Matches reports whether sel matches the set.
func (ns *NetSet) Matches(sel selector.Selector) bool { return sel.EvaluateLabels(ns.Labels) }

// netSetMatches reports whether addr is in a network set sel matches.
func (m *Model) netSetMatches(sel selector.Selector, addr netip.Addr) bool {
	for _, ns := range m.netSets {
		if ns.Matches(sel) && inNets(ns.Nets, addr) {
			return true
		}
	}
	return false
}

// ComparePrefixes orders Members' answers: by address, then prefix length.
func ComparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}
