package routing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// Handles and attributes of tunnel addresses, as Calico names them.
const (
	vxlanHandlePrefix = "vxlan-tunnel-addr-"
	ipipHandlePrefix  = "ipip-tunnel-addr-"
	attrType          = "type"
)

// tunnel is one kind of tunnel address a node may need.
type tunnel struct {
	handle  string
	typ     string
	wanted  func(*resources.IPPool) bool
	get     func(*resources.Node) string
	set     func(*resources.Node, string)
	needMAC bool
}

var vxlanTunnel = tunnel{
	handle: vxlanHandlePrefix, typ: "vxlanTunnelAddress", wanted: vxlanPool, needMAC: true,
	get: func(n *resources.Node) string { return n.Spec.IPv4VXLANTunnelAddr },
	set: func(n *resources.Node, a string) { n.Spec.IPv4VXLANTunnelAddr = a },
}

var ipipTunnel = tunnel{
	handle: ipipHandlePrefix, typ: "ipipTunnelAddress", wanted: ipipPool,
	get: func(n *resources.Node) string {
		if n.Spec.BGP == nil {
			return ""
		}
		return n.Spec.BGP.IPv4IPIPTunnelAddr
	},
	set: func(n *resources.Node, a string) {
		if n.Spec.BGP == nil {
			n.Spec.BGP = &resources.NodeBGPSpec{}
		}
		n.Spec.BGP.IPv4IPIPTunnelAddr = a
	},
}

// tunnelWork returns the work that brings this node's tunnel addresses in
// line with the pools, or nil when they already are; r.mu is held. A node
// gets a tunnel address (from IPAM, in a pool of that encapsulation) while
// such a pool exists, and loses it when none is left, as in Calico.
func (r *Router) tunnelWork(me string) func(context.Context) error {
	self := r.c.nodes[me]
	if self == nil || r.cfg.Backend == BackendNone {
		return nil
	}
	kinds := []tunnel{vxlanTunnel}
	if r.opts.ipipAvailable && r.cfg.Backend == BackendBGP {
		kinds = append(kinds, ipipTunnel)
	}
	var work []func(context.Context) error
	for _, t := range kinds {
		pools := r.c.poolsWhere(t.wanted)
		addr, _ := netip.ParseAddr(t.get(self))
		inPool := addr.IsValid() && slices.ContainsFunc(pools, func(p netip.Prefix) bool { return p.Contains(addr) })
		macOK := !t.needMAC || self.Spec.VXLANTunnelMACAddr != ""
		switch {
		case len(pools) > 0 && (!inPool || !macOK):
			work = append(work, func(ctx context.Context) error { return r.assignTunnel(ctx, t, pools) })
		case len(pools) == 0 && addr.IsValid():
			work = append(work, func(ctx context.Context) error { return r.releaseTunnel(ctx, t) })
		}
	}
	if len(work) == 0 {
		return nil
	}
	return func(ctx context.Context) error {
		var errs []error
		for _, w := range work {
			errs = append(errs, w(ctx))
		}
		return errors.Join(errs...)
	}
}

// poolsWhere lists the CIDRs of enabled pools satisfying want.
func (c *cluster) poolsWhere(want func(*resources.IPPool) bool) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range c.pools {
		if cidr, err := resources.ParseCIDR(p.Spec.CIDR); err == nil && want(p) && !p.Spec.Disabled && cidr.Addr().Is4() {
			out = append(out, cidr)
		}
	}
	slices.SortFunc(out, comparePrefix)
	return out
}

// assignTunnel gives the node a tunnel address from pools (reusing the
// one its handle holds when it is in them) and, for VXLAN, a MAC.
func (r *Router) assignTunnel(ctx context.Context, t tunnel, pools []netip.Prefix) error {
	me := r.cfg.NodeName
	handle := t.handle + me
	held, err := r.cfg.IPAM.IPsByHandle(ctx, handle)
	if err != nil {
		return err
	}
	var addr netip.Addr
	for _, a := range held {
		if slices.ContainsFunc(pools, func(p netip.Prefix) bool { return p.Contains(a) }) && !addr.IsValid() {
			addr = a
			continue
		}
		if _, err := r.cfg.IPAM.ReleaseIPs(ctx, a); err != nil {
			return fmt.Errorf("release old tunnel address %s: %w", a, err)
		}
	}
	if !addr.IsValid() {
		a, err := r.cfg.IPAM.AssignIPv4(ctx, handle, pools, map[string]string{attrType: t.typ})
		if err != nil {
			return fmt.Errorf("allocate %s: %w", t.typ, err)
		}
		addr = a
	}
	return r.updateNode(ctx, func(n *resources.Node) {
		t.set(n, addr.String())
		if t.needMAC && n.Spec.VXLANTunnelMACAddr == "" {
			n.Spec.VXLANTunnelMACAddr = randomMAC().String()
		}
	})
}

// releaseTunnel frees the node's tunnel address of kind t and clears it.
func (r *Router) releaseTunnel(ctx context.Context, t tunnel) error {
	if err := r.cfg.IPAM.ReleaseHandle(ctx, t.handle+r.cfg.NodeName); err != nil {
		return fmt.Errorf("release %s: %w", t.typ, err)
	}
	return r.updateNode(ctx, func(n *resources.Node) {
		t.set(n, "")
		if t.needMAC {
			n.Spec.VXLANTunnelMACAddr = ""
		}
	})
}

// updateNode applies change to this node's Node with compare-and-swap.
func (r *Router) updateNode(ctx context.Context, change func(*resources.Node)) error {
	_, err := r.cfg.Nodes.ModifyNode(ctx, r.cfg.NodeName, func(n *resources.Node) error {
		change(n)
		return nil
	})
	return err
}

// randomMAC is a random locally administered unicast MAC.
func randomMAC() net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	_, _ = rand.Read(mac)
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}
