package driver

import (
	"context"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// routedSubnets returns the destinations an interface routes via its own
// gateway: its network's --subnet CIDRs, or, for a network without
// --subnet joining a sandbox that already has calico interfaces (peers),
// the pools its addresses came from, unless an address of another
// interface lies in that pool. calico-ipam keeps subnet-less networks
// out of --subnet pools, so such a pool belongs to the subnet-less
// networks: routing it by this interface makes traffic to their peers
// leave with this interface's address instead of by the first
// interface's default route (where the peers' profile would refuse it).
// Two subnet-less networks on one container share those pools, so no
// pool route can tell their peers apart: felix routes each of their
// peers by /32 instead (SourceRoute.Peers, see srcroute.go).
func (d *Driver) routedSubnets(ctx context.Context, ce *createdEndpoint, peers []*resources.WorkloadEndpoint) []netip.Prefix {
	subnets := ce.netw.subnets()
	if len(subnets) > 0 || len(peers) == 0 {
		return subnets
	}
	for _, a := range ce.wep.Addrs() {
		p, err := d.ipam.PoolFor(ctx, a.Addr())
		if err != nil {
			d.log.Warn("No pool found for the endpoint's address; adding no pool route", "ip", a.Addr(), "err", err)
			continue
		}
		if c, err := resources.ParseCIDR(p.Spec.CIDR); err == nil && !holdsAny(c, peers) {
			subnets = append(subnets, c)
		}
	}
	return subnets
}

// holdsAny reports whether an address of one of eps lies in pool.
func holdsAny(pool netip.Prefix, eps []*resources.WorkloadEndpoint) bool {
	for _, w := range eps {
		for _, a := range w.Addrs() {
			if pool.Contains(a.Addr()) {
				return true
			}
		}
	}
	return false
}
