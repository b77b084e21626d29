package routing

import (
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

// encapOptions are the node-local tunnel settings.
type encapOptions struct {
	vxlanVNI, vxlanPort, vxlanMTU int
	ipipMTU                       int
	ipipAvailable                 bool
	// vxlanOff, ipipOff: FelixConfiguration turned the device off
	// (settings.go).
	vxlanOff, ipipOff bool
}

// exports are the prefixes this node announces: its affine blocks
// (aggregates) and, as /32s (/128s), the addresses it borrowed from blocks
// of other nodes. IPv6 ones only when the node has an IPv6 BGP address.
func (c *cluster) exports(me string) []netip.Prefix {
	has6 := nodeIPv6(c.nodes[me]).IsValid()
	var out []netip.Prefix
	for _, b := range c.blocks {
		if !b.CIDR.Addr().Is4() && !has6 {
			continue
		}
		if pool := c.poolFor(b.CIDR); pool != nil && pool.Spec.DisableBGPExport {
			continue // the pool's routes stay out of BGP
		}
		if b.Affinity == me {
			out = append(out, b.CIDR)
			continue
		}
		for _, a := range b.Allocations {
			if a.Attrs[model.AttrNode] == me {
				out = append(out, netip.PrefixFrom(a.IP, a.IP.BitLen()))
			}
		}
	}
	slices.SortFunc(out, comparePrefix)
	return slices.Compact(out)
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// mode returns whether a pool's encapsulation mode ("Always",
// "CrossSubnet", "Never") encapsulates traffic to a host at remote.
func encapsulates(mode string, self netip.Prefix, remote netip.Addr) bool {
	switch mode {
	case resources.EncapAlways:
		return true
	case resources.EncapCrossSubnet:
		return !self.Contains(remote)
	}
	return false
}

func vxlanPool(p *resources.IPPool) bool {
	return p != nil && p.Spec.VXLANMode != "" && p.Spec.VXLANMode != resources.EncapNever
}

func ipipPool(p *resources.IPPool) bool {
	return p != nil && p.Spec.IPIPMode != "" && p.Spec.IPIPMode != resources.EncapNever
}

// remoteDest is one prefix routed to another node (a block or a borrowed
// address), from IPAM.
type remoteDest struct {
	dst  netip.Prefix
	node string
}

// remoteDests lists the blocks of other nodes and the addresses other
// nodes borrowed (from any block, ours included).
func (c *cluster) remoteDests(me string) []remoteDest {
	var out []remoteDest
	for _, b := range c.blocks {
		if !b.CIDR.Addr().Is4() {
			continue
		}
		if b.Affinity != "" && b.Affinity != me {
			out = append(out, remoteDest{dst: b.CIDR, node: b.Affinity})
		}
		for _, a := range b.Allocations {
			n := a.Attrs[model.AttrNode]
			if n != "" && n != me && n != b.Affinity {
				out = append(out, remoteDest{dst: netip.PrefixFrom(a.IP, 32), node: n})
			}
		}
	}
	return out
}

// vxlanRoutes are the routes to other nodes' destinations in VXLAN pools,
// from the datastore alone (no BGP needed): through vxlan.calico to the
// node's tunnel address, or straight to the node when the pool is
// CrossSubnet and the node is on our subnet.
func (c *cluster) vxlanRoutes(me string, device string) []routes.Route {
	self := nodeIPv4(c.nodes[me])
	var out []routes.Route
	for _, d := range c.remoteDests(me) {
		pool := c.poolFor(d.dst)
		n := c.nodes[d.node]
		if !vxlanPool(pool) || n == nil {
			continue
		}
		ip := nodeIPv4(n)
		if !ip.IsValid() {
			continue
		}
		if !encapsulates(pool.Spec.VXLANMode, self, ip.Addr()) {
			out = append(out, routes.Route{Dst: d.dst, Gw: ip.Addr()})
			continue
		}
		if vtep, _, ok := vtepOf(n); ok {
			out = append(out, routes.Route{Dst: d.dst, Gw: vtep, Dev: device, OnLink: true})
		}
	}
	return out
}

// bgpRoutes turns learned routes into kernel routes. Destinations in VXLAN
// pools are left to vxlanRoutes, this node's own blocks to felix (its
// blackholes), routes through this node are dropped; in IPIP pools the
// route goes through tunl0 when the mode asks for it and the kernel can.
// IPv6 routes go straight to their (IPv6) next hop: there is no IPv6
// encapsulation.
func (c *cluster) bgpRoutes(me string, learned map[netip.Prefix]bgp.Route, o encapOptions) []routes.Route {
	self, self6 := nodeIPv4(c.nodes[me]), nodeIPv6(c.nodes[me])
	own := map[netip.Prefix]bool{}
	for _, b := range c.blocks {
		if b.Affinity == me {
			own[b.CIDR] = true
		}
	}
	var out []routes.Route
	for pfx, r := range learned {
		pool := c.poolFor(pfx)
		if own[pfx] || r.NextHop.Is4() != pfx.Addr().Is4() || r.NextHop == self.Addr() || r.NextHop == self6.Addr() {
			continue
		}
		rt := routes.Route{Dst: pfx, Gw: r.NextHop, Priority: r.Priority}
		if pfx.Addr().Is6() {
			out = append(out, rt)
			continue
		}
		if vxlanPool(pool) {
			continue
		}
		if ipipPool(pool) && o.ipip() && encapsulates(pool.Spec.IPIPMode, self, r.NextHop) {
			rt.Dev, rt.OnLink = routes.IPIPDevice, true
		}
		out = append(out, rt)
	}
	return out
}

// vxlanDevice is this node's VXLAN endpoint when some pool uses VXLAN and
// the node has published its tunnel address and MAC; and the other nodes'
// endpoints.
func (c *cluster) vxlanDevice(me string, o encapOptions) (*routes.VXLAN, []routes.VTEP) {
	if o.vxlanOff || !slices.ContainsFunc(mapValues(c.pools), vxlanPool) {
		return nil, nil
	}
	self := c.nodes[me]
	ip := nodeIPv4(self)
	addr, mac, ok := netip.Addr{}, []byte(nil), false
	if self != nil {
		addr, mac, ok = vtepOf(self)
	}
	if !ok || !ip.IsValid() {
		return nil, nil
	}
	dev := &routes.VXLAN{VNI: o.vxlanVNI, Port: o.vxlanPort, MTU: o.vxlanMTU, MAC: mac, Addr: addr, Local: ip.Addr()}
	var vteps []routes.VTEP
	for _, n := range c.sortedNodes() {
		if n.Name == me {
			continue
		}
		a, m, ok := vtepOf(n)
		if nip := nodeIPv4(n); ok && nip.IsValid() {
			vteps = append(vteps, routes.VTEP{Node: n.Name, MAC: m, Addr: a, IP: nip.Addr()})
		}
	}
	return dev, vteps
}

// ipipDevice is tunl0's configuration when some pool uses IPIP, the
// kernel can, and this node has an IPIP tunnel address.
func (c *cluster) ipipDevice(me string, o encapOptions) *routes.IPIP {
	if !o.ipip() || !slices.ContainsFunc(mapValues(c.pools), ipipPool) {
		return nil
	}
	self := c.nodes[me]
	if self == nil || self.Spec.BGP == nil {
		return nil
	}
	a, err := netip.ParseAddr(self.Spec.BGP.IPv4IPIPTunnelAddr)
	if err != nil {
		return nil
	}
	return &routes.IPIP{MTU: o.ipipMTU, Addr: a}
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
