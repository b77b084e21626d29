package felix

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// ruleKey identifies a source rule of ours.
type ruleKey struct {
	src   netip.Addr
	table int
}

// syncSandbox converges one sandbox on its entries (none: remove our
// rules). It reports whether some entry's interface is not there yet; an
// error wrapping os.ErrNotExist means the namespace is gone (or not made).
// peersOf gives the addresses of a network's endpoints (Config.NetworkPeers;
// nil: no peer routes).
func syncSandbox(path string, es []sourceEntry, peersOf func(string) []netip.Addr) (pending bool, err error) {
	// Docker bind-mounts the namespace on the path after creating the file,
	// and unmounts it before removing the file: in between it is no
	// namespace (netlink's EINVAL is not wrapped, so ask the filesystem).
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err == nil && fs.Type != unix.NSFS_MAGIC {
		return false, fmt.Errorf("%s is not a network namespace (yet, or any more): %w", path, os.ErrNotExist)
	}
	n, err := ns.Open(path)
	if err != nil {
		return false, err
	}
	defer n.Close()
	h, err := n.NetlinkHandle()
	if err != nil {
		return false, err
	}
	defer h.Close()
	want := map[ruleKey]bool{}
	errs := errList{what: "sandbox " + path}
	for _, e := range es {
		want[ruleKey{e.Addr, e.Table()}] = true
		if e.Addr6.IsValid() {
			want[ruleKey{e.Addr6, e.Table()}] = true
		}
		p, err := syncSourceRoutes(h, e.SourceRoute)
		pending = pending || p
		errs.add(err)
	}
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		errs.add(syncRules(h, fam, want))
	}
	errs.add(syncPeerRoutes(h, es, peersOf)) // sandboxpeers.go
	return pending, errs.err()
}

// syncSourceRoutes gives the interface holding r.Addr (r.Addr6) its table's
// default route and, for IPv6, the subnet routes. It reports whether the
// interface is not there yet.
func syncSourceRoutes(h *netlink.Handle, r SourceRoute) (bool, error) {
	link, err := linkWithAddr(h, r.Addr)
	if err != nil || link == 0 {
		return link == 0 && err == nil, err
	}
	if err := ensureRoute(h, &netlink.Route{LinkIndex: link, Gw: r.Gateway.AsSlice(), Table: r.Table(), Family: netlink.FAMILY_V4}); err != nil {
		return false, err
	}
	if !r.Addr6.IsValid() {
		return false, nil
	}
	link6, err := linkWithAddr(h, r.Addr6)
	if err != nil || link6 == 0 {
		return link6 == 0 && err == nil, err
	}
	gw := net.IP(IPv6Gateway.AsSlice())
	if err := ensureRoute(h, &netlink.Route{LinkIndex: link6, Gw: gw, Table: r.Table(), Family: netlink.FAMILY_V6}); err != nil {
		return false, err
	}
	for _, s := range r.Subnets6 {
		rt := &netlink.Route{LinkIndex: link6, Dst: prefixToIPNet(s.Masked()), Gw: gw, Family: netlink.FAMILY_V6}
		if err := ensureRoute(h, rt); err != nil {
			return false, err
		}
	}
	return false, nil
}

// ensureRoute adds rt (to rt.Table, main when 0) unless a route to the
// same destination through the same interface and gateway is there.
func ensureRoute(h *netlink.Handle, rt *netlink.Route) error {
	table := rt.Table
	if table == 0 {
		table = unix.RT_TABLE_MAIN
	}
	filter := &netlink.Route{Table: table, Dst: rt.Dst}
	have, err := retryDump("sandbox routes", func() ([]netlink.Route, error) {
		return h.RouteListFiltered(rt.Family, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_DST)
	})
	if err != nil {
		return err
	}
	for _, c := range have {
		if c.LinkIndex == rt.LinkIndex && c.Gw.Equal(rt.Gw) {
			return nil
		}
	}
	if err := h.RouteReplace(rt); err != nil {
		dst := "default"
		if rt.Dst != nil {
			dst = rt.Dst.String()
		}
		return fmt.Errorf("route %s via %s in table %d: %w", dst, rt.Gw, table, err)
	}
	return nil
}

// syncRules makes our source rules of one family exactly want's: rules
// whose priority equals their table in SourceTableBase+1..+255.
func syncRules(h *netlink.Handle, fam int, want map[ruleKey]bool) error {
	rules, err := retryDump("rules", func() ([]netlink.Rule, error) { return h.RuleList(fam) })
	if err != nil {
		return err
	}
	have := map[ruleKey]bool{}
	var errs []error
	for _, rule := range rules {
		if rule.Src == nil || rule.Priority != rule.Table || rule.Table <= SourceTableBase || rule.Table > SourceTableBase+255 {
			continue
		}
		key := ruleKey{ipNetToPrefix(rule.Src).Addr(), rule.Table}
		if want[key] && !have[key] {
			have[key] = true
			continue
		}
		if err := h.RuleDel(&rule); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("delete rule from %s lookup %d: %w", key.src, key.table, err))
		}
	}
	for key := range want {
		if have[key] || (key.src.Is4() != (fam == netlink.FAMILY_V4)) {
			continue
		}
		rule := netlink.NewRule()
		rule.Family, rule.Table, rule.Priority = fam, key.table, key.table
		rule.Src = prefixToIPNet(netip.PrefixFrom(key.src, key.src.BitLen()))
		if err := h.RuleAdd(rule); err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("rule from %s lookup %d: %w", key.src, key.table, err))
		}
	}
	return errors.Join(errs...)
}

// linkWithAddr returns the index of the interface holding addr, 0 if none.
func linkWithAddr(h *netlink.Handle, addr netip.Addr) (int, error) {
	fam := netlink.FAMILY_V4
	if addr.Is6() {
		fam = netlink.FAMILY_V6
	}
	addrs, err := retryDump("addresses", func() ([]netlink.Addr, error) { return h.AddrList(nil, fam) })
	if err != nil {
		return 0, err
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == addr {
			return a.LinkIndex, nil
		}
	}
	return 0, nil
}
