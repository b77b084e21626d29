package routes

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// OurRoutes dumps the main-table routes of protocol through h (felix's
// workload routes, routing's routes). Through a handle with strict
// checking on (netlink.Handle.SetStrictCheck) the kernel filters them;
// otherwise every route of the host comes and is filtered here.
func OurRoutes(h *netlink.Handle, protocol int) ([]netlink.Route, error) {
	filter := &netlink.Route{Protocol: netlink.RouteProtocol(protocol), Table: unix.RT_TABLE_MAIN}
	return retryDump("routes", func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	})
}

// listOurRoutes dumps the main-table routes of our protocol.
func (k *kernel) listOurRoutes() ([]netlink.Route, error) {
	return OurRoutes(k.cfg.Dumps, k.cfg.RouteProtocol)
}

// syncRoutes adds and corrects the desired routes and, unless keepStale,
// deletes our other routes. It returns how many desired routes are in
// place and which could not be added because another protocol's route
// holds the destination.
func (k *kernel) syncRoutes(want []Route, keepStale bool) (int, []string, error) {
	actual, err := k.listOurRoutes()
	if err != nil {
		return 0, nil, err
	}
	links, err := k.linkIndexes(want)
	if err != nil {
		return 0, nil, err
	}
	wanted := make(map[netip.Prefix]Route, len(want))
	for _, r := range want {
		wanted[r.Dst.Masked()] = r
	}
	have, errs := k.pruneRoutes(actual, wanted, keepStale)
	inPlace, conflicts := 0, []string{}
	for dst, w := range wanted {
		nr, err := k.netlinkRoute(w, links)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cur, exists := have[dst]
		switch {
		case exists && sameRoute(cur, nr):
			inPlace++
			continue
		case exists && !sameMetric(cur, nr):
			// The metric is part of a route's key: replacing would add
			// a second route.
			if err = k.nl.RouteDel(&cur); err == nil || errors.Is(err, unix.ESRCH) {
				err = k.nl.RouteAdd(nr)
			}
		case exists:
			err = k.nl.RouteReplace(nr)
		default:
			err = k.nl.RouteAdd(nr)
		}
		switch {
		case errors.Is(err, unix.EEXIST):
			conflicts = append(conflicts, w.String())
		case err != nil:
			errs = append(errs, fmt.Errorf("program route %s: %w", w, err))
		default:
			inPlace++
			k.log.Debug("Programmed route", "route", w.String())
		}
	}
	sort.Strings(conflicts)
	return inPlace, conflicts, errors.Join(errs...)
}

// pruneRoutes deletes our routes that are not wanted (unless keepStale)
// or duplicated, and returns the rest by destination.
func (k *kernel) pruneRoutes(actual []netlink.Route, wanted map[netip.Prefix]Route, keepStale bool) (map[netip.Prefix]netlink.Route, []error) {
	var errs []error
	have := map[netip.Prefix]netlink.Route{}
	for _, r := range actual {
		dst := routeDst(r)
		_, ok := wanted[dst]
		_, dup := have[dst]
		if ok && !dup {
			have[dst] = r
			continue
		}
		if !ok && keepStale {
			continue
		}
		if err := k.nl.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete route %s: %w", dst, err))
		} else if !dup {
			k.log.Info("Deleted route", "dst", dst)
		}
	}
	return have, errs
}

// netlinkRoute is the kernel form of w.
func (k *kernel) netlinkRoute(w Route, links map[string]int) (*netlink.Route, error) {
	nr := &netlink.Route{
		Dst: prefixToIPNet(w.Dst.Masked()), Gw: w.Gw.AsSlice(), Protocol: netlink.RouteProtocol(k.cfg.RouteProtocol),
		Table: unix.RT_TABLE_MAIN, Scope: netlink.SCOPE_UNIVERSE, Type: unix.RTN_UNICAST, Priority: w.Priority,
	}
	if w.Dev != "" {
		idx, ok := links[w.Dev]
		if !ok {
			return nil, fmt.Errorf("route %s: device %s does not exist", w, w.Dev)
		}
		nr.LinkIndex = idx
	}
	if w.OnLink {
		nr.SetFlag(netlink.FLAG_ONLINK)
	}
	return nr, nil
}

// sameRoute compares what we program: next hop, device (when we chose
// it), metric and the onlink flag.
func sameRoute(cur netlink.Route, want *netlink.Route) bool {
	if addrOf(cur.Gw) != addrOf(want.Gw) || !sameMetric(cur, want) {
		return false
	}
	if want.LinkIndex != 0 && cur.LinkIndex != want.LinkIndex {
		return false
	}
	return cur.Flags&unix.RTNH_F_ONLINK == want.Flags&unix.RTNH_F_ONLINK
}

// sameMetric: the kernel reports IPv6 routes added without a metric as
// metric 1024.
func sameMetric(cur netlink.Route, want *netlink.Route) bool {
	return cur.Priority == want.Priority || (want.Priority == 0 && cur.Priority == 1024 && cur.Family == unix.AF_INET6)
}

func routeDst(r netlink.Route) netip.Prefix {
	if r.Dst == nil {
		if r.Family == unix.AF_INET6 {
			return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	return ipNetToPrefix(r.Dst)
}

// linkIndexes maps the devices routes of want name (a few: tunnel devices,
// uplinks) to their indexes, looked up by name; one that does not exist is
// left out. A dump of every link made each change of routing's routes take
// ~0.18 s on a host of 10,000 workload interfaces (docs/benchmarks.md).
func (k *kernel) linkIndexes(want []Route) (map[string]int, error) {
	out, looked := map[string]int{}, map[string]bool{"": true}
	for _, r := range want {
		if looked[r.Dev] {
			continue
		}
		looked[r.Dev] = true
		l, err := k.nl.LinkByName(r.Dev)
		if _, gone := errors.AsType[netlink.LinkNotFoundError](err); gone {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("look up device %s: %w", r.Dev, err)
		}
		out[r.Dev] = l.Attrs().Index
	}
	return out, nil
}

// removeOurRoutes deletes every route of our protocol (at shutdown).
func (k *kernel) removeOurRoutes() (int, error) {
	actual, err := k.listOurRoutes()
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, r := range actual {
		if err := k.nl.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete route %s: %w", routeDst(r), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
