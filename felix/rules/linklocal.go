package rules

import ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"

// Link-local destinations never leave the host. A workload's gateway
// (169.254.1.1, 169.254.1.n for its n-th calico interface; the host side's
// fe80:: address for IPv6) is owned by no one: the host answers ARP for it
// (proxy ARP) and would route a packet addressed to it, or to any other
// link-local address, out of its default route, to whatever answers
// upstream (cloud metadata services live there). cali-FORWARD drops them
// from workloads before policy; traffic to the host itself goes through
// cali-INPUT and endpoint_to_host_action.
func linkLocalDrops(ipVersion int) []ipt.Rule {
	dst := "169.254.0.0/16"
	if ipVersion == 6 {
		dst = "fe80::/10"
	}
	return []ipt.Rule{{Match: "-i cali+ -d " + dst, Action: "DROP"}}
}
