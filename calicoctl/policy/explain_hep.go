package policy

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Host endpoints in policy explain: --from and --to may name one
// (hostendpoint/NAME, a bare name no container has, NODE:INTERFACE, or one
// of its expectedIPs). The packet is then traced host by host with
// calc.PathVerdict, in the order felix renders the host endpoint chains
// (calc/hostorder.go). On a workload's host the packet is taken to cross
// the interface of that host's "*" host endpoint, if it has one: which
// named interface it would use depends on the host's routes.

// hostInfo is what explain reads besides the policy model to evaluate
// host endpoints: the Nodes (addresses, tunnel peers), the pools
// (whether tunnels are in use) and the FelixConfigurations (failsafe
// ports).
type hostInfo struct {
	nodes map[string]*resources.Node
	pools []*resources.IPPool
	felix map[string]*resources.FelixConfiguration
	// override holds the failsafe ports given on the command line (nil:
	// not given).
	override calc.FailsafeConfig
}

// parseFailsafe parses the failsafe port flags (the daemon's syntax).
func (f *explainFlags) parseFailsafe() error {
	for _, fl := range []struct {
		name, value string
		dst         *[]resources.ProtoPort
	}{{"--failsafe-inbound-host-ports", f.failsafeIn, &f.failsafe.FailsafeInbound},
		{"--failsafe-outbound-host-ports", f.failsafeOut, &f.failsafe.FailsafeOutbound}} {
		if fl.value == "" {
			continue
		}
		ports, err := resources.ParseProtoPorts(fl.value)
		if err != nil {
			return cli.Usagef("%s: %v", fl.name, err)
		}
		*fl.dst = ports
	}
	return nil
}

func (v *policyView) loadHostInfo(ctx context.Context, st *datastore.Store) error {
	hi := &v.hosts
	hi.nodes, hi.felix = map[string]*resources.Node{}, map[string]*resources.FelixConfiguration{}
	for _, kind := range []string{resources.KindNode, resources.KindIPPool, resources.KindFelixConfiguration} {
		objs, _, err := st.List(ctx, kind, "")
		if err != nil {
			return fmt.Errorf("list %s: %w", kind, err)
		}
		for _, o := range objs {
			switch r := o.(type) {
			case *resources.Node:
				hi.nodes[r.Name] = r
			case *resources.IPPool:
				hi.pools = append(hi.pools, r)
			case *resources.FelixConfiguration:
				hi.felix[r.Name] = r
			}
		}
	}
	return nil
}

// nodeAddrs returns a node's addresses (its BGP addresses).
func (hi *hostInfo) nodeAddrs(node string) []netip.Addr {
	n := hi.nodes[node]
	if n == nil || n.Spec.BGP == nil {
		return nil
	}
	var out []netip.Addr
	for _, s := range []string{n.Spec.BGP.IPv4Address, n.Spec.BGP.IPv6Address} {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out
}

// settings are a node's host endpoint settings as explain knows them:
// failsafe ports from the command line, else FelixConfiguration
// node.<name>, else default, else Calico's defaults (the daemon's
// precedence, its own settings being the command line's); tunnel peers:
// the other nodes, when a pool tunnels.
func (hi *hostInfo) settings(node string) calc.HostSettings {
	var s calc.HostSettings
	for _, name := range []string{"default", "node." + node} {
		if fc := hi.felix[name]; fc != nil {
			if fc.Spec.FailsafeInboundHostPorts != nil {
				s.Failsafe.FailsafeInbound = *fc.Spec.FailsafeInboundHostPorts
			}
			if fc.Spec.FailsafeOutboundHostPorts != nil {
				s.Failsafe.FailsafeOutbound = *fc.Spec.FailsafeOutboundHostPorts
			}
		}
	}
	if hi.override.FailsafeInbound != nil {
		s.Failsafe.FailsafeInbound = hi.override.FailsafeInbound
	}
	if hi.override.FailsafeOutbound != nil {
		s.Failsafe.FailsafeOutbound = hi.override.FailsafeOutbound
	}
	vxlan := slices.ContainsFunc(hi.pools, func(p *resources.IPPool) bool { return tunnels(p.Spec.VXLANMode) })
	ipip := slices.ContainsFunc(hi.pools, func(p *resources.IPPool) bool { return tunnels(p.Spec.IPIPMode) })
	for name := range hi.nodes {
		if name == node {
			continue
		}
		for _, a := range hi.nodeAddrs(name) {
			if vxlan {
				s.Tunnels.VXLANPort, s.Tunnels.VXLANPeers = 4789, append(s.Tunnels.VXLANPeers, a)
			}
			if ipip && a.Is4() {
				s.Tunnels.IPIPPeers = append(s.Tunnels.IPIPPeers, a)
			}
		}
	}
	return s
}

func tunnels(mode string) bool { return mode != "" && mode != resources.EncapNever }

// hostEndpointParty resolves arg to a host endpoint: hostendpoint/NAME or
// NODE:INTERFACE (ok false: arg is neither form).
func (v *policyView) hostEndpointParty(flag, arg string) ([]*party, bool, error) {
	if name, ok := strings.CutPrefix(arg, "hostendpoint/"); ok {
		h := v.Model.HostEndpoint(name)
		if h == nil {
			return nil, true, fmt.Errorf("%s %s: no HostEndpoint named %q: list them with `calicoctl get hostendpoints`", flag, arg, name)
		}
		if on := v.Model.HostEndpointOn(h.Node, h.IfaceName); h.IfaceName != "" && !h.AllInterfaces() && on != h {
			return nil, true, fmt.Errorf("%s %s: host endpoint %s is not enforced: %s (first by name) has the same spec.interfaceName %s on node %s; give hostendpoint/%s",
				flag, arg, h.Name, on.Name, h.IfaceName, h.Node, on.Name)
		}
		ps, err := v.hepParties(flag, arg, h, "")
		return ps, true, err
	}
	node, iface, ok := strings.Cut(arg, ":")
	if !ok {
		return nil, false, nil
	}
	if node == "" || iface == "" {
		return nil, true, fmt.Errorf("%s %q: give a host endpoint as NODE:INTERFACE, e.g. host1:eth0", flag, arg)
	}
	if strings.HasPrefix(iface, "cali") {
		return nil, true, fmt.Errorf("%s %s: %s is a workload's interface, never a host endpoint: give the container instead", flag, arg, iface)
	}
	h := v.Model.HostEndpointOn(node, iface)
	if h == nil {
		return nil, true, v.noHostEndpointOn(flag, arg, node, iface)
	}
	ps, err := v.hepParties(flag, arg, h, iface)
	return ps, true, err
}

// noHostEndpointOn explains why NODE:INTERFACE names no host endpoint.
func (v *policyView) noHostEndpointOn(flag, arg, node, iface string) error {
	for _, h := range v.Model.HostEndpoints() {
		if h.IfaceName == iface {
			return fmt.Errorf("%s %s: node %s has no host endpoint for interface %s (spec.interfaceName %s is host endpoint %s's, on node %s): give %s:%s",
				flag, arg, node, iface, iface, h.Name, h.Node, h.Node, iface)
		}
	}
	return fmt.Errorf("%s %s: no host endpoint of node %s has spec.interfaceName %s (or \"*\"): the interface is not policed; give an IP address to explain traffic of an unpoliced host",
		flag, arg, node, iface)
}

// hepParties are a host endpoint's candidate addresses: its expectedIPs,
// else its node's addresses.
func (v *policyView) hepParties(flag, arg string, h *calc.HostEndpoint, iface string) ([]*party, error) {
	if iface == "" {
		iface = h.IfaceName
	}
	var addrs []netip.Addr
	for _, p := range h.ExpectedIPs {
		addrs = append(addrs, p.Addr())
	}
	if len(addrs) == 0 {
		addrs = v.hosts.nodeAddrs(h.Node)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s %s: host endpoint %s has no spec.expectedIPs and node %s no address: add expectedIPs to the host endpoint", flag, arg, h.Name, h.Node)
	}
	var out []*party
	for _, a := range addrs {
		out = append(out, hepParty(arg, h, iface, a))
	}
	return out, nil
}

func hepParty(arg string, h *calc.HostEndpoint, iface string, a netip.Addr) *party {
	return &party{Arg: arg, IP: a.String(), addr: a, HostEndpoint: h.Name, Interface: iface, Node: h.Node, Labels: h.Labels, hep: h}
}

// hepByAddr returns the host endpoint with addr among its expectedIPs (a
// named one first), else, for a node's address, that node's "*" host
// endpoint; or nil.
func (v *policyView) hepByAddr(addr netip.Addr) *calc.HostEndpoint {
	var found *calc.HostEndpoint
	for _, h := range v.Model.HostEndpoints() {
		if slices.Contains(h.ExpectedIPs, netip.PrefixFrom(addr, addr.BitLen())) && (found == nil || found.AllInterfaces()) {
			found = h
		}
	}
	if found != nil {
		return found
	}
	for name := range v.hosts.nodes {
		if slices.Contains(v.hosts.nodeAddrs(name), addr) {
			if h := v.Model.Uplink(name); h != nil && h.AllInterfaces() {
				return h
			}
		}
	}
	return nil
}

// involvesHost reports whether host endpoints take part in the flow: an
// end is one, or a workload's host has an all-interfaces one.
func (v *policyView) involvesHost(from, to *party) bool {
	if from.hep != nil || to.hep != nil {
		return true
	}
	return from.wep != nil && v.Model.Uplink(from.Node) != nil || to.wep != nil && v.Model.Uplink(to.Node) != nil
}

// hops are the hosts a flow crosses with the host endpoints it meets
// (calc.Model.Hops).
func (v *policyView) hops(from, to *party) []calc.Hop {
	return v.Model.Hops(v.calcParty(from), v.calcParty(to), v.hosts.settings)
}

func (v *policyView) calcParty(p *party) calc.Party {
	if p.wep != nil {
		return calc.Party{Workload: v.Model.Endpoint(p.wep.Namespace + "/" + p.wep.Name)}
	}
	return calc.Party{Host: p.hep}
}
