package routing

import (
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

// peerPolicies are the filters of this node's peers made by BGPPeers:
// their spec.filters (BGPFilters, in the order listed) and
// keepOriginalNextHop. Mesh peers have none. A filter that does not exist
// is skipped, as are rules matching on what GoBGP here cannot see
// (source, interface, communities, priority) or changing routes
// (operations); see docs/bgp-filters.md.
func (c *cluster) peerPolicies(me string, peers []bgp.Peer) map[netip.Addr]bgp.PeerPolicy {
	out := map[netip.Addr]bgp.PeerPolicy{}
	asn := c.asnOf(c.nodes[me])
	for _, p := range peers {
		bp := c.peers[p.Name]
		if p.Type == bgp.PeerMesh || bp == nil {
			continue
		}
		pp := bgp.PeerPolicy{KeepNextHop: bp.Spec.KeepOriginalNextHop || bp.Spec.NextHopMode == "Keep"}
		peerType := "iBGP"
		if p.ASN != asn {
			peerType = "eBGP"
		}
		for _, name := range bp.Spec.Filters {
			f := c.filters[name]
			if f == nil {
				continue
			}
			pp.Import = append(pp.Import, filterRules(f.Spec.ImportV4, false, peerType)...)
			pp.Import = append(pp.Import, filterRules(f.Spec.ImportV6, true, peerType)...)
			pp.Export = append(pp.Export, filterRules(f.Spec.ExportV4, false, peerType)...)
			pp.Export = append(pp.Export, filterRules(f.Spec.ExportV6, true, peerType)...)
		}
		if pp.KeepNextHop || len(pp.Import) > 0 || len(pp.Export) > 0 {
			out[p.Address] = pp
		}
	}
	return out
}

// filterRules converts the rules of one BGPFilter list for a peer of
// peerType; rules for the other peer type, and rules this speaker cannot
// apply, are left out.
func filterRules(rules []resources.BGPFilterRule, v6 bool, peerType string) []bgp.FilterRule {
	var out []bgp.FilterRule
	for _, r := range rules {
		if !appliable(r) || (r.PeerType != "" && r.PeerType != peerType) {
			continue
		}
		fr := bgp.FilterRule{V6: v6, Op: r.MatchOperator, Accept: r.Action == "Accept"}
		if r.CIDR != "" {
			p, err := resources.ParseCIDR(r.CIDR)
			if err != nil {
				continue // validated when stored
			}
			fr.CIDR = p.Masked()
		}
		if pl := r.PrefixLength; pl != nil {
			if pl.Min != nil {
				fr.MinLen = *pl.Min
			}
			if pl.Max != nil {
				fr.MaxLen = *pl.Max
			}
		}
		out = append(out, fr)
	}
	return out
}

// appliable reports whether a rule uses only what this speaker applies:
// cidr with matchOperator, prefixLength, peerType and action.
func appliable(r resources.BGPFilterRule) bool {
	return r.Source == "" && r.Interface == "" && r.Communities == nil && r.Priority == nil && len(r.Operations) == 0
}
