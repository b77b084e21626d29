package rules

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// TunnelPeers are the other hosts whose VXLAN and IPIP packets host
// endpoint chains accept before policy (calc.TunnelPeers).
type TunnelPeers = calc.TunnelPeers

// tunnelAccepts renders the tunnel accepts of a host endpoint chain for
// one direction (ingress: from the peers; egress: to them), with the
// peers' IP sets.
func (r *renderer) tunnelAccepts(ingress bool) []ipt.Rule {
	dir := "dst"
	if ingress {
		dir = "src"
	}
	tp := r.cfg.Tunnels
	var out []ipt.Rule
	if set := r.peerSet("vxlan-peers", tp.VXLANPeers); set != "" && tp.VXLANPort != 0 {
		out = append(out, ipt.Rule{
			Match:  fmt.Sprintf("-p udp -m udp --dport %d -m set --match-set %s %s", tp.VXLANPort, set, dir),
			Action: "ACCEPT"})
	}
	if set := r.peerSet("ipip-peers", tp.IPIPPeers); set != "" {
		out = append(out, ipt.Rule{Match: fmt.Sprintf("-p 4 -m set --match-set %s %s", set, dir), Action: "ACCEPT"})
	}
	return out
}

// peerSet adds the IP set of the peers of the renderer's family and
// returns its name; "" when there are none.
func (r *renderer) peerSet(name string, peers []netip.Addr) string {
	var members []netip.Prefix
	for _, a := range peers {
		if a.Is4() == (r.cfg.IPVersion == 4) {
			members = append(members, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	if len(members) == 0 {
		return ""
	}
	set := fmt.Sprintf("cali%d0s:%s", r.cfg.IPVersion, name)
	slices.SortFunc(members, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	r.ipsets[set] = slices.Compact(members)
	return set
}
