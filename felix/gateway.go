package felix

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The workloads' IPv4 gateways are the host. A sandbox's n-th calico
// interface routes through 169.254.1.n, an address nobody has: the host
// side of each veth answers ARP for it (proxy ARP) and the kernel forwards
// what the workload sends. A packet addressed to the gateway itself would
// be forwarded too, out of the host's default route (cali-FORWARD drops
// link-local destinations so it never leaves). To make the gateway what a
// workload expects, the host, felix keeps the gateway range local in the
// host namespace: "local 169.254.1.0/24 dev lo table local", with our
// protocol. A packet to 169.254.1.n is then delivered to the host (INPUT,
// where cali-INPUT applies endpoint_to_host_action like for any host
// address); forwarding through the gateway is unchanged, and ARP for it is
// answered as before (now as a local address). IPv6 needs nothing: the
// gateway is the host side's own link-local address.

// ensureGatewayLocal programs the local route of the gateway range.
func (k *kernelState) ensureGatewayLocal() error {
	lo, err := k.nl.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("gateway range %s: %w", sourceGateways, err)
	}
	r := &netlink.Route{Dst: prefixToIPNet(sourceGateways), LinkIndex: lo.Attrs().Index, Type: unix.RTN_LOCAL,
		Scope: netlink.SCOPE_HOST, Table: unix.RT_TABLE_LOCAL, Protocol: netlink.RouteProtocol(k.cfg.RouteProtocol)}
	if err := k.nl.RouteReplace(r); err != nil {
		return fmt.Errorf("make the gateway range %s local to the host: %w", sourceGateways, err)
	}
	return nil
}
