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

// Peer routes inside multi-network sandboxes (see sandboxes.go): a /32
// route in the sandbox's main table to each peer of a network whose
// interface shares address space with another interface of the sandbox.

// peerRoute is where one peer's route leads.
type peerRoute struct {
	link int
	gw   netip.Addr
	src  netip.Addr
}

// syncPeerRoutes makes the sandbox's main-table IPv4 routes of protocol
// DefaultRouteProtocol exactly the peer routes of es: those of an entry
// whose interface is not there yet are added at a later sync.
func syncPeerRoutes(h *netlink.Handle, es []sourceEntry, peersOf func(string) []netip.Addr) error {
	want, err := wantedPeerRoutes(h, es, peersOf)
	if err != nil {
		return err
	}
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN, Protocol: DefaultRouteProtocol}
	have, err := retryDump("sandbox peer routes", func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_V4, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_PROTOCOL)
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
		if done[dst] {
			continue
		}
		rt := &netlink.Route{LinkIndex: w.link, Dst: prefixToIPNet(netip.PrefixFrom(dst, 32)), Gw: w.gw.AsSlice(),
			Src: w.src.AsSlice(), Protocol: DefaultRouteProtocol, Family: netlink.FAMILY_V4}
		if err := h.RouteReplace(rt); err != nil {
			errs = append(errs, fmt.Errorf("peer route %s via %s: %w", dst, w.gw, err))
		}
	}
	return errors.Join(errs...)
}

// wantedPeerRoutes returns the peer routes of es by destination: the
// IPv4 peers of each entry's Peers network, other than the sandbox's own
// addresses, via that entry's interface (lowest table first).
func wantedPeerRoutes(h *netlink.Handle, es []sourceEntry, peersOf func(string) []netip.Addr) (map[netip.Addr]peerRoute, error) {
	want := map[netip.Addr]peerRoute{}
	if peersOf == nil {
		return want, nil
	}
	own := map[netip.Addr]bool{}
	for _, e := range es {
		own[e.Addr] = true
	}
	es = slices.SortedFunc(slices.Values(es), func(a, b sourceEntry) int { return cmp.Compare(a.Table(), b.Table()) })
	for _, e := range es {
		if e.Peers == "" {
			continue
		}
		link, err := linkWithAddr(h, e.Addr)
		if err != nil {
			return nil, err
		}
		if link == 0 {
			continue // not moved in yet: the sandbox is retried
		}
		for _, p := range peersOf(e.Peers) {
			if _, taken := want[p]; p.Is4() && !own[p] && !taken {
				want[p] = peerRoute{link: link, gw: e.Gateway, src: e.Addr}
			}
		}
	}
	return want, nil
}
