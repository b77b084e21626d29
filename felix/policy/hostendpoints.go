package policy

import (
	"maps"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// Host endpoints are few (a handful per host) and change rarely: the Index
// answers their questions from the model, and a host endpoint change
// rebuilds its caches (Apply).

var _ rules.HostSource = (*Index)(nil)

// LocalHostEndpoints implements rules.HostSource.
func (x *Index) LocalHostEndpoints(node string) []*calc.HostEndpoint {
	return x.model.LocalHostEndpoints(node)
}

// HostPoliciesFor implements rules.HostSource.
func (x *Index) HostPoliciesFor(h *calc.HostEndpoint, kind calc.HostPolicyKind, dir calc.Direction) []*calc.Policy {
	return x.model.HostPoliciesFor(h, kind, dir)
}

// addHostEndpoints adds the expected IPs of the host endpoints the set's
// selector matches, as Calico's IP sets hold them.
func (ms *memberSet) addHostEndpoints(m *calc.Model) {
	for _, h := range m.HostEndpoints() {
		if len(h.ExpectedIPs) > 0 && ms.sel.EvaluateLabels(selector.GlobalMap(h.Labels)) {
			ms.byEP[hostKey(h)] = h.ExpectedIPs
		}
	}
}

// hostKey keys a host endpoint among the workload endpoints' keys
// (namespace/name) of a member set.
func hostKey(h *calc.HostEndpoint) string { return "HostEndpoint//" + h.Name }

// NeedsHostAddrs reports whether a local host endpoint is given by its
// expectedIPs only: rendering it needs the host's addresses (SetHostAddrs).
func (c *Calculator) NeedsHostAddrs() bool {
	return rules.NeedsHostAddrs(c.index.LocalHostEndpoints(c.cfg.NodeName))
}

// SetHostAddrs sets the host's addresses with their interfaces; a change
// makes the Calculator dirty.
func (c *Calculator) SetHostAddrs(addrs map[netip.Addr]string) {
	if maps.Equal(addrs, c.hostAddrs) {
		return
	}
	c.hostAddrs = addrs
	c.dirty = true
	c.rendered = false // RenderIfChanged must render: the Index does not see addresses
}

// SetTunnelPeers sets the other hosts whose tunnel packets host endpoints
// accept; a change makes the Calculator dirty.
func (c *Calculator) SetTunnelPeers(tp rules.TunnelPeers) {
	if tp.Equal(c.tunnels) {
		return
	}
	c.tunnels = tp
	c.dirty = true
}
