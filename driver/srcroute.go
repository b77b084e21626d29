package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/ns"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Source routing for containers on several calico networks.
//
// Docker gives a sandbox one default route, through its gateway endpoint.
// A reply from the address of another calico interface would follow it
// and leave by the wrong interface, where the host's strict reverse-path
// filter (set by felix against spoofing) drops it. So, in a sandbox with
// two or more calico interfaces, each interface whose gateway is
// 169.254.1.k gets a routing table sourceTableBase+k holding "default via
// 169.254.1.k dev <iface>" and a rule "from <its address> lookup
// <table>" at priority sourceTableBase+k: whatever the destination,
// traffic leaves by the interface that owns its source address. (Traffic
// a container starts without choosing a source follows the main table:
// the network's --subnet routes, else the default route.)
//
// Docker creates the interface only after Join returns (and, for a
// container that is starting, the namespace too), so the rules are added
// by a background goroutine that waits for the interface to appear. Docker
// never touches rules; a table's route goes with its interface, and Leave
// removes the rule.
//
// IPv6 is the same with the gateway felix.IPv6Gateway: the table (same
// number) gets "default via fe80::ecee:eeff:feee:eeee dev <iface>" and a
// rule "from <its IPv6 address>". The network's IPv6 --subnet routes are
// added here too, in the main table by the interface: Docker cannot place
// them, as it puts a next-hop route on the interface its kernel route to
// the next hop uses, and the IPv6 gateway is the same link-local address
// on every interface.
const sourceTableBase = 1000

// sourceRoute is one calico interface's source-routing entry.
type sourceRoute struct {
	addr, gw netip.Addr
	addr6    netip.Addr     // invalid when the endpoint has no IPv6 address
	subnets6 []netip.Prefix // the network's IPv6 --subnets
}

func (r sourceRoute) table() int { return sourceTableBase + int(r.gw.As4()[3]) }

// sourceRouteOf reads the entry from a joined endpoint's record.
func sourceRouteOf(wep *resources.WorkloadEndpoint) (sourceRoute, bool) {
	gw, err := netip.ParseAddr(wep.Spec.IPv4Gateway)
	if err != nil || !netip.MustParsePrefix("169.254.1.0/24").Contains(gw) {
		return sourceRoute{}, false
	}
	r := sourceRoute{gw: gw}
	for _, a := range wep.Addrs() {
		switch {
		case a.Addr().Is4() && !r.addr.IsValid():
			r.addr = a.Addr()
		case a.Addr().Is6() && !r.addr6.IsValid() && wep.Spec.IPv6Gateway != "":
			r.addr6 = a.Addr()
		}
	}
	return r, r.addr.IsValid()
}

// startSourceRouting programs source routing for the endpoints of one
// sandbox in the background.
func (d *Driver) startSourceRouting(sandbox string, weps []*resources.WorkloadEndpoint) {
	ctx, cancel := d.reqCtx()
	defer cancel()
	var routes []sourceRoute
	for _, w := range weps {
		if r, ok := sourceRouteOf(w); ok {
			if r.addr6.IsValid() {
				for _, s := range d.subnetsOf(ctx, w.Spec.Network) {
					if s.Addr().Is6() {
						r.subnets6 = append(r.subnets6, s)
					}
				}
			}
			routes = append(routes, r)
		}
	}
	if len(routes) < 2 {
		return
	}
	d.bg.Go(func() { d.ensureSourceRouting(sandbox, routes) })
}

// ensureSourceRouting retries until every interface is in place, for up to
// a minute (a container that never starts leaves nothing to do).
func (d *Driver) ensureSourceRouting(sandbox string, routes []sourceRoute) {
	ctx, cancel := context.WithTimeout(d.ctx, time.Minute)
	defer cancel()
	for delay := 20 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		err := applySourceRoutes(sandbox, routes)
		if err == nil {
			d.log.Debug("Source routing in place", "sandbox", sandbox, "interfaces", len(routes))
			return
		}
		select {
		case <-ctx.Done():
			if d.ctx.Err() == nil {
				d.log.Warn("Gave up adding source routing", "sandbox", sandbox, "err", err)
			}
			return
		case <-time.After(delay):
		}
	}
}

func applySourceRoutes(sandbox string, routes []sourceRoute) error {
	n, err := ns.Open(sandbox)
	if err != nil {
		return err
	}
	defer n.Close()
	h, err := n.NetlinkHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	for _, r := range routes {
		link, err := linkWithAddr(h, r.addr)
		if err != nil {
			return err
		}
		gw := net.IP(r.gw.AsSlice())
		if err := h.RouteReplace(&netlink.Route{LinkIndex: link, Gw: gw, Table: r.table()}); err != nil {
			return fmt.Errorf("default route via %s in table %d: %w", r.gw, r.table(), err)
		}
		if err := ensureRule(h, r.addr, r.table()); err != nil {
			return err
		}
		if r.addr6.IsValid() {
			if err := applySourceRoute6(h, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// applySourceRoute6 adds an interface's IPv6 table, rule and subnet routes.
func applySourceRoute6(h *netlink.Handle, r sourceRoute) error {
	link, err := linkWithAddr(h, r.addr6)
	if err != nil {
		return err
	}
	gw := net.IP(felix.IPv6Gateway.AsSlice())
	if err := h.RouteReplace(&netlink.Route{LinkIndex: link, Gw: gw, Table: r.table(), Family: netlink.FAMILY_V6}); err != nil {
		return fmt.Errorf("IPv6 default route via %s in table %d: %w", gw, r.table(), err)
	}
	for _, s := range r.subnets6 {
		dst := &net.IPNet{IP: s.Addr().AsSlice(), Mask: net.CIDRMask(s.Bits(), 128)}
		if err := h.RouteReplace(&netlink.Route{LinkIndex: link, Dst: dst, Gw: gw}); err != nil {
			return fmt.Errorf("route to %s via %s: %w", s, gw, err)
		}
	}
	return ensureRule(h, r.addr6, r.table())
}

// familyOf is addr's netlink address family.
func familyOf(addr netip.Addr) int {
	if addr.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// linkWithAddr returns the index of the interface holding addr.
func linkWithAddr(h *netlink.Handle, addr netip.Addr) (int, error) {
	addrs, err := h.AddrList(nil, familyOf(addr))
	if err != nil {
		return 0, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && ip.Unmap() == addr {
			return a.LinkIndex, nil
		}
	}
	return 0, fmt.Errorf("no interface holds %s yet", addr)
}

// ensureRule adds "from addr lookup table" (priority table) if missing.
func ensureRule(h *netlink.Handle, addr netip.Addr, table int) error {
	rules, err := h.RuleList(familyOf(addr))
	if err != nil {
		return fmt.Errorf("list rules: %w", err)
	}
	for _, rule := range rules {
		if rule.Table == table && rule.Src != nil && rule.Src.IP.Equal(addr.AsSlice()) {
			return nil
		}
	}
	rule := netlink.NewRule()
	rule.Family, rule.Table, rule.Priority = familyOf(addr), table, table
	rule.Src = &net.IPNet{IP: addr.AsSlice(), Mask: net.CIDRMask(addr.BitLen(), addr.BitLen())}
	if err := h.RuleAdd(rule); err != nil {
		return fmt.Errorf("rule from %s lookup %d: %w", addr, table, err)
	}
	return nil
}

// removeSourceRouting deletes the endpoint's rule from its sandbox, if
// both still exist.
func removeSourceRouting(wep *resources.WorkloadEndpoint) error {
	r, ok := sourceRouteOf(wep)
	sandbox := wep.Annotations[AnnotationSandbox]
	if !ok || sandbox == "" {
		return nil
	}
	n, err := ns.Open(sandbox)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer n.Close()
	h, err := n.NetlinkHandle()
	if err != nil {
		return err
	}
	defer h.Close()
	for _, addr := range []netip.Addr{r.addr, r.addr6} {
		if !addr.IsValid() {
			continue
		}
		rules, err := h.RuleList(familyOf(addr))
		if err != nil {
			return fmt.Errorf("list rules in %s: %w", sandbox, err)
		}
		for _, rule := range rules {
			if rule.Table == r.table() && rule.Src != nil && rule.Src.IP.Equal(addr.AsSlice()) {
				if err := h.RuleDel(&rule); err != nil {
					return fmt.Errorf("delete rule from %s lookup %d in %s: %w", addr, r.table(), sandbox, err)
				}
			}
		}
	}
	return nil
}

// Resync finishes work a previous run may have left: it restores source
// routing in every live sandbox that has several calico endpoints of this
// node, and resumes reading the container labels of joined endpoints of
// this node still marked labels-pending.
func (d *Driver) Resync(ctx context.Context) error {
	weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, d.store, resources.DefaultNamespace)
	if err != nil {
		return fmt.Errorf("list endpoints: %w", err)
	}
	bySandbox := map[string][]*resources.WorkloadEndpoint{}
	for _, w := range weps {
		if key := w.Annotations[AnnotationSandbox]; key != "" && w.Spec.Node == d.node {
			bySandbox[key] = append(bySandbox[key], w)
		}
	}
	for key, group := range bySandbox {
		if _, err := os.Stat(key); err == nil && len(group) > 1 {
			d.startSourceRouting(key, group)
		}
		if d.labels != nil {
			for _, w := range group {
				if labelsPending(w) {
					d.labels.add(w.Spec.Endpoint, w.Spec.Network, time.Time{}, nil)
				}
			}
		}
	}
	return nil
}
