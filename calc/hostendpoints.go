package calc

import (
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// HostEndpoint is a HostEndpoint as the calculation sees it: one interface
// of a host (or all of them, IfaceName "*") that policy protects.
type HostEndpoint struct {
	Name        string
	Node        string
	IfaceName   string // an interface, "*" (every interface) or "" (expectedIPs only)
	ExpectedIPs []netip.Prefix
	Profiles    []string
	// Labels are the effective labels: profiles' labelsToApply, then the
	// host endpoint's own. A host endpoint has no namespace: namespaced
	// policy never selects it and namespaceSelector global() matches it.
	Labels map[string]string
	own    map[string]string
}

// AllInterfaces reports whether the host endpoint stands for every
// interface of its host.
func (h *HostEndpoint) AllInterfaces() bool {
	return h.IfaceName == resources.HostEndpointAllInterfaces
}

// HostPolicyKind says which of a host endpoint's policies apply to a
// traffic path (Calico's "normal", applyOnForward, pre-DNAT and untracked
// host endpoint policy).
type HostPolicyKind int

// Host policy kinds.
const (
	// HostNormal: traffic to or from the host itself (INPUT, OUTPUT):
	// every policy that is neither doNotTrack nor preDNAT.
	HostNormal HostPolicyKind = iota
	// HostForward: traffic forwarded through the interface: the
	// applyOnForward policies that are neither doNotTrack nor preDNAT.
	HostForward
	// HostPreDNAT: ingress before DNAT (mangle PREROUTING): preDNAT policies.
	HostPreDNAT
	// HostUntracked: before connection tracking (raw): doNotTrack policies.
	HostUntracked
)

// AppliesToHost reports whether the policy applies to a host endpoint for
// the kind of traffic and the direction (ingress: into the host through
// the interface; egress: out of it).
func (p *Policy) AppliesToHost(kind HostPolicyKind, d Direction) bool {
	if !p.Types[d] {
		return false
	}
	switch kind {
	case HostNormal:
		return !p.DoNotTrack && !p.PreDNAT
	case HostForward:
		return p.ApplyOnForward && !p.DoNotTrack && !p.PreDNAT
	case HostPreDNAT:
		return p.PreDNAT && d == Ingress
	case HostUntracked:
		return p.DoNotTrack
	}
	return false
}

func (m *Model) updateHostEndpoint(u model.Update) {
	if u.Deleted() {
		delete(m.hostEndpoints, u.Name)
		return
	}
	r := u.Object.(*resources.HostEndpoint)
	h := &HostEndpoint{Name: r.Name, Node: r.Spec.Node, IfaceName: r.Spec.InterfaceName,
		Profiles: slices.Clone(r.Spec.Profiles), own: r.Labels}
	for _, s := range r.Spec.ExpectedIPs {
		if a, err := netip.ParseAddr(s); err == nil {
			h.ExpectedIPs = append(h.ExpectedIPs, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	m.relabelHost(h)
	m.hostEndpoints[h.Name] = h
}

// relabelHost computes a host endpoint's effective labels as relabel does
// for workloads, without a namespace.
func (m *Model) relabelHost(h *HostEndpoint) {
	h.Labels = m.profileLabels(h.Profiles, h.own)
}

// HostEndpoints returns every host endpoint, sorted by name.
func (m *Model) HostEndpoints() []*HostEndpoint { return byKey(m.hostEndpoints) }

// LocalHostEndpoints returns node's host endpoints, sorted by name.
func (m *Model) LocalHostEndpoints(node string) []*HostEndpoint {
	return onNode(m.HostEndpoints(), node, func(h *HostEndpoint) string { return h.Node })
}

// HostPoliciesFor returns, in evaluation order, the policies of a kind
// that select h in the direction.
func (m *Model) HostPoliciesFor(h *HostEndpoint, kind HostPolicyKind, dir Direction) []*Policy {
	return m.hostPoliciesFrom(m.policies, h, kind, dir)
}

func (m *Model) hostPoliciesFrom(policies map[string]*Policy, h *HostEndpoint, kind HostPolicyKind, dir Direction) []*Policy {
	labels := selector.GlobalMap(h.Labels)
	var out []*Policy
	for _, p := range policies {
		if p.AppliesToHost(kind, dir) && p.Selector.EvaluateLabels(labels) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, m.compareTiered)
	return out
}

// hostMembers returns the expected IPs of the host endpoints sel matches
// (rule selectors match host endpoints as they match workloads).
func (m *Model) hostMembers(sel selector.Selector) []netip.Prefix {
	var out []netip.Prefix
	for _, h := range m.hostEndpoints {
		if sel.EvaluateLabels(selector.GlobalMap(h.Labels)) {
			out = append(out, h.ExpectedIPs...)
		}
	}
	return out
}

// HostEndpoint returns a host endpoint by name, or nil.
func (m *Model) HostEndpoint(name string) *HostEndpoint { return m.hostEndpoints[name] }

// HostEndpointOn returns the host endpoint that polices the interface
// iface of node, as the dataplane binds them: the first by name with that
// interfaceName, else node's all-interfaces one ("*"), else nil. The
// loopback interface is never policed.
func (m *Model) HostEndpointOn(node, iface string) *HostEndpoint {
	var all *HostEndpoint
	for _, h := range m.LocalHostEndpoints(node) {
		switch {
		case h.IfaceName == iface:
			return h
		case h.AllInterfaces() && all == nil && iface != "lo":
			all = h
		}
	}
	return all
}
