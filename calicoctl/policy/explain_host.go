package policy

import (
	"fmt"
	"net/netip"
	"slices"
)

// What the dataplane does after policy, which policy explain must say
// too: a workload's gateway (169.254.1.n, one per calico interface; the
// host side's fe80:: address for IPv6) is its own host: felix makes the
// gateway range 169.254.1.0/24 local, so a packet to it goes through cali-INPUT like one
// to any address of the host, where endpoint_to_host_action (a setting of
// each host's daemon, Drop by default, not stored in etcd: hence
// --endpoint-to-host-action) decides after egress policy allowed it. A
// packet to any other link-local address is dropped in cali-FORWARD
// before policy.

var (
	linkLocal = []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fe80::/10")}
	// gateways and gateway6 are felix's gateway range and IPv6 gateway.
	gateways = netip.MustParsePrefix("169.254.1.0/24")
	gateway6 = netip.MustParseAddr("fe80::ecee:eeff:feee:eeee")
)

// toLinkLocal reports whether a workload sends to a link-local address
// (its gateway included).
func toLinkLocal(from, to *party) bool {
	return from.wep != nil && to.Outside && slices.ContainsFunc(linkLocal, func(ll netip.Prefix) bool { return ll.Contains(to.addr) })
}

// toOwnHost reports whether a workload sends to its own host (a host
// endpoint of it, an address of its Node, a link-local address): the
// dataplane's INPUT path, where host endpoint policy does not apply.
func (v *policyView) toOwnHost(from, to *party) bool {
	switch {
	case from.wep == nil:
		return false
	case to.hep != nil:
		return to.Node == from.Node
	case toLinkLocal(from, to):
		return true
	case to.Outside:
		return v.nodeOwns(from.Node, to.addr)
	}
	return false
}

// hostVerdict overrides a verdict the way the dataplane does for a
// workload's traffic to link-local addresses and to its own host
// (hepOnHost: to is a host endpoint of the workload's host: its INPUT
// path, where endpoint_to_host_action decides, not host endpoint policy).
func (v *policyView) hostVerdict(exp *Explanation, from, to *party, hostAction string, hepOnHost bool) {
	if from.wep == nil || !to.Outside && !hepOnHost {
		return
	}
	host := fmt.Sprintf("the workload's own host (node %s)", from.Node)
	own := gateways.Contains(to.addr) || to.addr == gateway6
	switch {
	case hepOnHost:
		host = fmt.Sprintf("host endpoint %s's address on the workload's own host (node %s; host endpoint policy does not apply to the host's own workloads)", to.HostEndpoint, from.Node)
		own = true
	case own:
		host = "the workload's gateway, its own host (node " + from.Node + ")"
	case toLinkLocal(from, to):
		exp.Allowed, exp.Verdict = false, "denied"
		exp.Reason = fmt.Sprintf("%s is link-local and not the workload's gateway: workload traffic to link-local addresses never leaves the host; the dataplane drops it before policy", to.addr)
		return
	}
	own = own || v.nodeOwns(from.Node, to.addr)
	if !own || !exp.Allowed {
		return
	}
	to.Outside = false
	if hostAction == "Accept" {
		exp.Reason += fmt.Sprintf("; %s is %s, and endpoint_to_host_action Accept lets it in", to.addr, host)
		return
	}
	exp.Allowed, exp.Verdict = false, "denied"
	exp.Reason = fmt.Sprintf("egress policy allows it, but %s is %s and endpoint_to_host_action is Drop (the default; set endpoint_to_host_action: Accept on that host to let workloads reach it)", to.addr, host)
}

// nodeOwns reports whether addr is one of node's addresses (its Node).
func (v *policyView) nodeOwns(node string, addr netip.Addr) bool {
	return slices.Contains(v.hosts.nodeAddrs(node), addr)
}
