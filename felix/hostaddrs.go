package felix

import (
	"net/netip"

	"github.com/vishvananda/netlink"
)

// A HostEndpoint given by its expectedIPs only (no interfaceName) protects
// the interface that has one of those addresses, as in Calico. While this
// node has such a host endpoint, every apply reads the host's addresses
// (one netlink dump) and hands them to the policy calculation, which
// re-renders when an address moved; an address change alone is picked up
// at the next apply (a change, or the periodic resync).

// refreshHostAddrs gives the calculation the host's addresses when a local
// host endpoint needs them, and forgets them otherwise. A failed read keeps
// the previous addresses (logged; the next apply reads again).
func (p *policyState) refreshHostAddrs() {
	if !p.calc.NeedsHostAddrs() || p.kernel == nil {
		p.calc.SetHostAddrs(nil)
		return
	}
	addrs, err := p.kernel.hostAddrs()
	if err != nil {
		p.kernel.log.Warn("Reading the host's addresses for host endpoints failed", "err", err)
		return
	}
	p.calc.SetHostAddrs(addrs)
}

// hostAddrs returns every address of the namespace with its interface's
// name.
func (k *kernelState) hostAddrs() (map[netip.Addr]string, error) {
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
