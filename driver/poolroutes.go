package driver

import (
	"context"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// routedSubnets returns the destinations an interface routes via its own
// gateway: its network's --subnet CIDRs, or, for a network without
// --subnet joining a sandbox that already has a calico interface, the
// pools its addresses came from. calico-ipam keeps subnet-less networks
// out of --subnet pools, so such a pool belongs to the subnet-less
// networks: routing it by this interface makes traffic to their peers
// leave with this interface's address instead of by the first
// interface's default route (where the peers' profile would refuse it).
// Two subnet-less networks on one container share those pools: the first
// interface keeps the route (see planJoin), so give one of them a
// --subnet to reach both sets of peers.
func (d *Driver) routedSubnets(ctx context.Context, ce *createdEndpoint, shared bool) []netip.Prefix {
	subnets := ce.netw.subnets()
	if len(subnets) > 0 || !shared {
		return subnets
	}
	for _, a := range ce.wep.Addrs() {
		p, err := d.ipam.PoolFor(ctx, a.Addr())
		if err != nil {
			d.log.Warn("No pool found for the endpoint's address; adding no pool route", "ip", a.Addr(), "err", err)
			continue
		}
		if c, err := resources.ParseCIDR(p.Spec.CIDR); err == nil {
			subnets = append(subnets, c)
		}
	}
	return subnets
}
