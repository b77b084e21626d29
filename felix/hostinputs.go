package felix

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// A HostEndpoint given by its expectedIPs only (no interfaceName) protects
// the interface that has one of those addresses, as in Calico. While this
// node has such a host endpoint, the policy calculation gets the host's
// addresses (one dump of links and addresses) at the first apply that
// needs them, at each full resync, and when the kernel watcher saw an
// address of a host interface change (monitor.go: not a workload's, not an
// IPv6 link-local one); it re-renders when an address moved. Reading them
// at every apply made a policy change on a host of 10,000 interfaces take
// ~0.19 s (docs/benchmarks.md).
//
// Host endpoints also accept the tunnel packets of the other hosts routing
// tunnels to (tunnelPeersOf), as Calico's felix does.

// refreshHostAddrs gives the calculation the host's addresses when a local
// host endpoint needs them and they may have changed (stale: a full
// resync, or the watcher saw an address change), and forgets them when no
// host endpoint needs them. A failed read keeps the previous addresses
// (logged; the next apply reads again).
func (p *policyState) refreshHostAddrs(stale bool) {
	need := p.calc.NeedsHostAddrs() && p.kernel != nil
	if p.needHostAddrs != nil {
		p.needHostAddrs.Store(need)
	}
	if !need {
		p.calc.SetHostAddrs(nil)
		p.hostAddrsRead = false
		return
	}
	if p.hostAddrsRead && !stale {
		return
	}
	addrs, err := p.kernel.hostAddrs()
	if err != nil {
		p.kernel.log.Warn("Reading the host's addresses for host endpoints failed", "err", err)
		p.hostAddrsRead = false
		return
	}
	p.calc.SetHostAddrs(addrs)
	p.hostAddrsRead = true
}

// hostAddrs returns every address of the namespace with its interface's
// name.
func (k *kernelState) hostAddrs() (map[netip.Addr]string, error) {
	k.hostAddrReads.Add(1)
	links, err := retryDump("links", k.nl.LinkList)
	if err != nil {
		return nil, err
	}
	names := make(map[int]string, len(links))
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	list, err := retryDump("addresses", func() ([]netlink.Addr, error) { return k.nl.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, err
	}
	out := make(map[netip.Addr]string, len(list))
	for _, a := range list {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && names[a.LinkIndex] != "" {
			out[ip.Unmap()] = names[a.LinkIndex]
		}
	}
	return out, nil
}

// tunnelPeersOf derives the tunnel peers host endpoints accept from
// routing's desired state: the VTEPs' underlay addresses (VXLAN) and the
// next hops of routes through tunl0 (IPIP). nil: no tunnels.
func tunnelPeersOf(d *routes.Desired) rules.TunnelPeers {
	var tp rules.TunnelPeers
	if d == nil {
		return tp
	}
	if d.VXLAN != nil {
		tp.VXLANPort = cmp.Or(d.VXLAN.Port, routes.DefaultVXLANPort)
		for _, v := range d.VTEPs {
			if v.IP.IsValid() {
				tp.VXLANPeers = append(tp.VXLANPeers, v.IP)
			}
		}
	}
	for _, r := range d.Routes {
		if r.Dev == routes.IPIPDevice && r.Gw.Is4() {
			tp.IPIPPeers = append(tp.IPIPPeers, r.Gw)
		}
	}
	for _, peers := range []*[]netip.Addr{&tp.VXLANPeers, &tp.IPIPPeers} {
		slices.SortFunc(*peers, netip.Addr.Compare)
		*peers = slices.Compact(*peers)
	}
	return tp
}
