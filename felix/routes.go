package felix

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/routes"
)

// routeKey identifies a route for diffing; anything else about our routes
// (metric, flags) is left as the kernel chose.
type routeKey struct {
	dst     netip.Prefix
	ifindex int
	typ     int
	scope   netlink.Scope
}

// desiredRoutes returns the routes the endpoints and blocks need:
// "<addr> dev <iface> scope link" per endpoint address (IPv6 routes report
// scope global) and "blackhole <block>" per local block.
func (k *kernelState) desiredRoutes(eps []boundEndpoint, blocks []netip.Prefix) map[routeKey]*netlink.Route {
	want := map[routeKey]*netlink.Route{}
	add := func(dst netip.Prefix, ifindex, typ int, scope netlink.Scope) {
		dst = dst.Masked()
		want[routeKey{dst, ifindex, typ, scope}] = &netlink.Route{
			Dst: prefixToIPNet(dst), LinkIndex: ifindex, Type: typ, Scope: scope,
			Protocol: netlink.RouteProtocol(k.cfg.RouteProtocol), Table: unix.RT_TABLE_MAIN,
		}
	}
	for _, ep := range eps {
		idx := ep.link.Attrs().Index
		for _, p := range ep.IPv4Nets {
			if p.Addr().Is4() {
				add(p, idx, unix.RTN_UNICAST, netlink.SCOPE_LINK)
			}
		}
		for _, p := range ep.IPv6Nets {
			if k.cfg.EnableIPv6 && p.Addr().Is6() && !p.Addr().Is4In6() {
				add(p, idx, unix.RTN_UNICAST, netlink.SCOPE_UNIVERSE)
			}
		}
	}
	for _, b := range blocks {
		if b.Addr().Is4() || k.cfg.EnableIPv6 {
			add(b, 0, unix.RTN_BLACKHOLE, netlink.SCOPE_UNIVERSE)
		}
	}
	return want
}

// listOurRoutes dumps the main-table routes carrying our protocol.
func (k *kernelState) listOurRoutes() ([]netlink.Route, error) {
	k.routeDumps.Add(1)
	return routes.OurRoutes(k.dumps, k.cfg.RouteProtocol)
}

// syncRoutes adds the desired routes the kernel lacks and deletes our
// routes that are not desired (or duplicated). It returns how many desired
// routes are in place. With dump, what the kernel has is dumped; without,
// it is the last sync's routes (routeMemo), except on the interfaces
// looked up again this apply (relinked: set down, recreated, renamed), whose
// routes the kernel may have dropped silently (IPv4 does, a device going
// down or away): those desired are written again, the others deleted.
func (k *kernelState) syncRoutes(want map[routeKey]*netlink.Route, dump bool) (n int, err error) {
	defer func() {
		if err != nil {
			k.routeMemo = nil // the next sync dumps
		}
	}()
	present := make(map[routeKey]bool, len(want))
	var stale []netlink.Route
	if dump || k.routeMemo == nil {
		actual, err := k.listOurRoutes()
		if err != nil {
			return 0, err
		}
		for _, r := range actual {
			key := routeKeyOf(r)
			if _, ok := want[key]; ok && !present[key] {
				present[key] = true
				continue
			}
			stale = append(stale, r)
		}
	} else {
		for key := range k.routeMemo {
			_, wanted := want[key]
			switch {
			case !wanted:
				stale = append(stale, k.routeOf(key))
			case !k.relinked[key.ifindex]:
				present[key] = true
			}
		}
	}
	errs := errList{what: "program routes"}
	var (
		adds []routeKey
		reqs []*nl.NetlinkRequest
	)
	for key, r := range want {
		if !present[key] {
			adds, reqs = append(adds, key), append(reqs, routeRequest(r))
		}
	}
	for i, err := range writeBatched(k.rt, reqs) {
		if err != nil {
			errs.add(fmt.Errorf("add route %s: %w", describeRoute(adds[i]), err))
			continue
		}
		present[adds[i]] = true
	}
	// Delete after adding so an address moving to another interface is
	// never unrouted; a route replaced meanwhile is already gone (ESRCH).
	for _, r := range stale {
		if err := k.nl.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs.add(fmt.Errorf("delete stale route %s: %w", describeRoute(routeKeyOf(r)), err))
		} else {
			k.log.Debug("Deleted route", "route", describeRoute(routeKeyOf(r)))
		}
	}
	k.routeMemo = present
	return len(present), errs.err()
}

// routeOf is the route of ours that key identifies (to delete it).
func (k *kernelState) routeOf(key routeKey) netlink.Route {
	return netlink.Route{Dst: prefixToIPNet(key.dst), LinkIndex: key.ifindex, Type: key.typ, Scope: key.scope,
		Protocol: netlink.RouteProtocol(k.cfg.RouteProtocol), Table: unix.RT_TABLE_MAIN}
}

func routeKeyOf(r netlink.Route) routeKey {
	var dst netip.Prefix
	if r.Dst != nil {
		dst = ipNetToPrefix(r.Dst)
	} else if r.Family == unix.AF_INET6 {
		dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	} else {
		dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return routeKey{dst: dst, ifindex: r.LinkIndex, typ: r.Type, scope: r.Scope}
}

func describeRoute(k routeKey) string {
	if k.typ == unix.RTN_BLACKHOLE {
		return "blackhole " + k.dst.String()
	}
	return fmt.Sprintf("%s dev #%d", k.dst, k.ifindex)
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func ipNetToPrefix(n *net.IPNet) netip.Prefix {
	addr, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(addr.Unmap(), ones).Masked()
}
