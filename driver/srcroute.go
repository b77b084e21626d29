package driver

import (
	"context"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Source routing for containers on several calico networks.
//
// Docker gives a sandbox one default route, through its gateway endpoint.
// A reply from the address of another calico interface would follow it
// and leave by the wrong interface, where the host's strict reverse-path
// filter (set by felix against spoofing) drops it. So, in a sandbox with
// two or more calico interfaces, each interface gets a routing table and a
// rule "from <its address> lookup <table>": traffic leaves by the
// interface that owns its source address (IPv6 too, with the network's
// IPv6 --subnet routes, which Docker cannot place). An interface whose
// address shares a pool with another interface's (two networks without
// --subnet, in either family) also has its network's peers routed by /32
// (and /128, dual-stack) through it, with its address of the peer's
// family as source, so each peer sees the address it knows. See
// felix.SourceRoute for what is programmed.
//
// The driver only records the intent: at Join (and at start-up, Resync)
// it hands the dataplane owner (felix) a felix.SourceRoute per interface of
// the sandbox, and at Leave it withdraws the endpoint's. Felix programs
// them inside the sandbox's namespace from its one loop once Docker has
// moved the interface in, reads them back and repairs them at every
// resync, and forgets sandboxes whose namespace is gone.

// SourceRoutes takes the source-routing intent of multi-network sandboxes
// (*felix.Dataplane, the one owner of the kernel).
type SourceRoutes interface {
	// SetSourceRoute records one endpoint's interface in its sandbox; an
	// error names what is wrong with r, and nothing is recorded then.
	SetSourceRoute(endpointID string, r felix.SourceRoute) error
	// RemoveSourceRoute withdraws an endpoint's entry.
	RemoveSourceRoute(endpointID string)
}

// sourceRouteOf reads the entry from a joined endpoint's record.
func sourceRouteOf(wep *resources.WorkloadEndpoint) (felix.SourceRoute, bool) {
	gw, err := netip.ParseAddr(wep.Spec.IPv4Gateway)
	if err != nil || !netip.MustParsePrefix("169.254.1.0/24").Contains(gw) {
		return felix.SourceRoute{}, false
	}
	r := felix.SourceRoute{Sandbox: wep.Annotations[AnnotationSandbox], Gateway: gw}
	for _, a := range wep.Addrs() {
		switch {
		case a.Addr().Is4() && !r.Addr.IsValid():
			r.Addr = a.Addr()
		case a.Addr().Is6() && !r.Addr6.IsValid() && wep.Spec.IPv6Gateway != "":
			r.Addr6 = a.Addr()
		}
	}
	return r, r.Addr.IsValid()
}

// startSourceRouting records source routing for the endpoints of one
// sandbox (with at least two calico interfaces); felix programs it.
func (d *Driver) startSourceRouting(sandbox string, weps []*resources.WorkloadEndpoint) {
	if d.sources == nil {
		d.log.Debug("No dataplane to program source routing", "sandbox", sandbox)
		return
	}
	ctx, cancel := d.reqCtx()
	defer cancel()
	type entry struct {
		id string
		r  felix.SourceRoute
	}
	var entries []entry
	for _, w := range weps {
		r, ok := sourceRouteOf(w)
		if !ok {
			continue
		}
		r.Sandbox = sandbox
		if r.Addr6.IsValid() {
			for _, s := range d.subnetsOf(ctx, w.Spec.Network) {
				if s.Addr().Is6() {
					r.Subnets6 = append(r.Subnets6, s)
				}
			}
		}
		if len(weps) > 1 && (d.sharesPool(ctx, r.Addr, weps) || r.Addr6.IsValid() && d.sharesPool(ctx, r.Addr6, weps)) {
			r.Peers = w.Spec.Network
		}
		entries = append(entries, entry{w.Spec.Endpoint, r})
	}
	if len(entries) < 2 {
		return
	}
	for _, e := range entries {
		if err := d.sources.SetSourceRoute(e.id, e.r); err != nil {
			d.log.Warn("Source routing not recorded", "sandbox", sandbox, "endpoint", e.id, "err", err)
		}
	}
}

// sharesPool reports whether the pool of addr (an interface's IPv4 or
// IPv6 address) holds an address of another of the sandbox's endpoints:
// the two networks share address space (both without --subnet, in that
// family), so no subnet route tells their peers apart and felix routes
// each peer by /32 and /128 (SourceRoute.Peers).
func (d *Driver) sharesPool(ctx context.Context, addr netip.Addr, weps []*resources.WorkloadEndpoint) bool {
	p, err := d.ipam.PoolFor(ctx, addr)
	if err != nil {
		d.log.Warn("No pool found for the endpoint's address; adding no peer routes", "ip", addr, "err", err)
		return false
	}
	pool, err := resources.ParseCIDR(p.Spec.CIDR)
	if err != nil {
		return false
	}
	for _, w := range weps {
		for _, a := range w.Addrs() {
			if a.Addr() != addr && pool.Contains(a.Addr()) {
				return true
			}
		}
	}
	return false
}

// removeSourceRouting withdraws an endpoint's source routing; felix
// deletes its rule from the sandbox if the sandbox lives on (docker
// network disconnect).
func (d *Driver) removeSourceRouting(endpointID string) {
	if d.sources != nil {
		d.sources.RemoveSourceRoute(endpointID)
	}
}
