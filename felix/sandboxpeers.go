package felix

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Peer routes inside multi-network sandboxes (see sandboxes.go): a host
// route (/32, /128) in the sandbox's main table to each peer of a network
// whose interface shares address space with another interface of the
// sandbox, via that interface, from its address of the peer's family.

// peerRoute is where one peer's route leads.
type peerRoute struct {
	link int
	gw   netip.Addr
	src  netip.Addr
}

// syncPeerRoutes makes the sandbox's main-table routes of protocol
// DefaultRouteProtocol, of both families, exactly the peer routes of es:
// those of an entry whose interface (or IPv6 address) is not there yet
// are added at a later sync.
func syncPeerRoutes(h *netlink.Handle, es []sourceEntry, peersOf func(string) []netip.Addr) error {
	want, err := wantedPeerRoutes(h, es, peersOf)
	if err != nil {
		return err
	}
	return errors.Join(syncPeerFamily(h, netlink.FAMILY_V4, want), syncPeerFamily(h, netlink.FAMILY_V6, want))
}

// syncPeerFamily converges the peer routes of one family on want's.
func syncPeerFamily(h *netlink.Handle, fam int, want map[netip.Addr]peerRoute) error {
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN, Protocol: DefaultRouteProtocol}
	have, err := retryDump("sandbox peer routes", func() ([]netlink.Route, error) {
		return h.RouteListFiltered(fam, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
	})
	if err != nil {
		return err
	}
	var errs []error
	done := map[netip.Addr]bool{}
	for _, rt := range have {
		if rt.Dst == nil {
			continue
		}
		dst := ipNetToPrefix(rt.Dst)
		w, ok := want[dst.Addr()]
		gw, _ := netip.AddrFromSlice(rt.Gw)
		src, _ := netip.AddrFromSlice(rt.Src)
		if ok && dst.IsSingleIP() && !done[dst.Addr()] && w == (peerRoute{rt.LinkIndex, gw.Unmap(), src.Unmap()}) {
			done[dst.Addr()] = true
			continue
		}
		if err := h.RouteDel(&rt); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete peer route %s: %w", dst, err))
		}
	}
	for dst, w := range want {
		if done[dst] || dst.Is4() != (fam == netlink.FAMILY_V4) {
			continue
		}
		rt := &netlink.Route{LinkIndex: w.link, Dst: prefixToIPNet(netip.PrefixFrom(dst, dst.BitLen())), Gw: w.gw.AsSlice(),
			Src: w.src.AsSlice(), Protocol: DefaultRouteProtocol, Family: fam}
		if err := h.RouteReplace(rt); err != nil {
			errs = append(errs, fmt.Errorf("peer route %s via %s: %w", dst, w.gw, err))
		}
	}
	return errors.Join(errs...)
}

// wantedPeerRoutes returns the peer routes of es by destination: the
// peers of each entry's Peers network, other than the sandbox's own
// addresses, via that entry's interface (lowest table first): IPv4 ones
// via its gateway from its address, IPv6 ones (when it has an IPv6
// address) via IPv6Gateway from its IPv6 address.
func wantedPeerRoutes(h *netlink.Handle, es []sourceEntry, peersOf func(string) []netip.Addr) (map[netip.Addr]peerRoute, error) {
	want := map[netip.Addr]peerRoute{}
	if peersOf == nil {
		return want, nil
	}
	own := map[netip.Addr]bool{}
	for _, e := range es {
		own[e.Addr] = true
		if e.Addr6.IsValid() {
			own[e.Addr6] = true
		}
	}
	es = slices.SortedFunc(slices.Values(es), func(a, b sourceEntry) int { return cmp.Compare(a.Table(), b.Table()) })
	for _, e := range es {
		if e.Peers == "" {
			continue
		}
		via4, via6, err := peerVias(h, e.SourceRoute)
		if err != nil {
			return nil, err
		}
		for _, p := range peersOf(e.Peers) {
			via := via4
			if p.Is6() {
				via = via6
			}
			if _, taken := want[p]; via.link != 0 && !own[p] && !taken {
				want[p] = via
			}
		}
	}
	return want, nil
}

// peerVias is where r's interface leads its network's IPv4 and IPv6
// peers; a link of 0 where the interface (or its IPv6 address) is not
// there yet, or it has no IPv6 address: no routes of that family then.
func peerVias(h *netlink.Handle, r SourceRoute) (via4, via6 peerRoute, err error) {
	link, err := linkWithAddr(h, r.Addr)
	if err != nil || link == 0 {
		return via4, via6, err // not moved in yet: the sandbox is retried
	}
	via4 = peerRoute{link: link, gw: r.Gateway, src: r.Addr}
	if !r.Addr6.IsValid() {
		return via4, via6, nil
	}
	link6, err := linkWithAddr(h, r.Addr6)
	if err != nil || link6 == 0 {
		return via4, via6, err
	}
	return via4, peerRoute{link: link6, gw: IPv6Gateway, src: r.Addr6}, nil
}
