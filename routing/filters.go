package routing

import (
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

// peerPolicies are the filters of this node's peers made by BGPPeers:
// their spec.filters (BGPFilters, in the order listed) and
// keepOriginalNextHop. Mesh peers have none. A filter that does not exist
// is skipped; see docs/bgp-filters.md. exports are this node's routes
// (c.exports(me)), which interface rules match.
func (c *cluster) peerPolicies(me string, peers []bgp.Peer, exports []netip.Prefix) map[netip.Addr]bgp.PeerPolicy {
	out := map[netip.Addr]bgp.PeerPolicy{}
	asn := c.asnOf(c.nodes[me])
	for _, p := range peers {
		bp := c.peers[p.Name]
		if p.Type == bgp.PeerMesh || bp == nil {
			continue
		}
		pp := bgp.PeerPolicy{KeepNextHop: bp.Spec.KeepOriginalNextHop || bp.Spec.NextHopMode == "Keep"}
		fc := filterContext{peerType: "iBGP", c: c, exports: exports}
		if p.ASN != asn {
			fc.peerType, fc.ownASN = "eBGP", asn
		}
		for _, name := range bp.Spec.Filters {
			f := c.filters[name]
			if f == nil {
				continue
			}
			pp.Import = append(pp.Import, fc.rules(f.Spec.ImportV4, false, false)...)
			pp.Import = append(pp.Import, fc.rules(f.Spec.ImportV6, true, false)...)
			pp.Export = append(pp.Export, fc.rules(f.Spec.ExportV4, false, true)...)
			pp.Export = append(pp.Export, fc.rules(f.Spec.ExportV6, true, true)...)
		}
		if pp.KeepNextHop || len(pp.Import) > 0 || len(pp.Export) > 0 {
			out[p.Address] = pp
		}
	}
	return out
}

// filterContext is what converting a peer's rules needs.
type filterContext struct {
	peerType string // "eBGP" or "iBGP"
	// ownASN is this node's AS for an eBGP peer (0 for iBGP): GoBGP's
	// export policies see it at the front of the AS path.
	ownASN  uint32
	c       *cluster
	exports []netip.Prefix // this node's routes
}

// rules converts the rules of one BGPFilter list for the peer; rules for
// the other peer type are left out.
func (fc filterContext) rules(rules []resources.BGPFilterRule, v6, export bool) []bgp.FilterRule {
	var out []bgp.FilterRule
	for _, r := range rules {
		if r.PeerType != "" && r.PeerType != fc.peerType {
			continue
		}
		fr := bgp.FilterRule{V6: v6, Op: r.MatchOperator, Accept: r.Action == "Accept",
			FromPeers: r.Source == "RemotePeers", ASPathPrefix: asns(r.ASPathPrefix)}
		if r.CIDR != "" {
			p, err := resources.ParseCIDR(r.CIDR)
			if err != nil {
				continue // validated when stored
			}
			fr.CIDR = p.Masked()
		}
		if pl := r.PrefixLength; pl != nil {
			fr.MinLen, fr.MaxLen = deref(pl.Min), deref(pl.Max)
		}
		if r.Interface != "" {
			fr.OwnOnly, fr.Own = true, fc.c.ownOnInterface(fc.exports, r.Interface)
		}
		if r.Communities != nil && len(r.Communities.Values) > 0 {
			fr.Community = r.Communities.Values[0]
		}
		fr.Priority = deref(r.Priority)
		fc.operations(&fr, r.Operations, export)
		if export && fc.ownASN != 0 && len(fr.ASPathPrefix) > 0 {
			fr.ASPathPrefix = append([]uint32{fc.ownASN}, fr.ASPathPrefix...)
		}
		out = append(out, fr)
	}
	return out
}

// operations sets a rule's operations. setPriority on export changes
// nothing a peer sees (as in Calico, where it sets the metric of a route
// BIRD does not install): it is left out. On eBGP, GoBGP prepends after
// this node's AS was added (see bgp.FilterRule): when the prepended path
// would not start with this node's AS, it is prepended first too, so the
// peer still sees its neighbor's AS first.
func (fc filterContext) operations(fr *bgp.FilterRule, ops []resources.BGPFilterOperation, export bool) {
	for _, op := range ops {
		switch {
		case op.AddCommunity != nil:
			fr.AddCommunities = append(fr.AddCommunities, op.AddCommunity.Value)
		case op.PrependASPath != nil:
			fr.Prepend = append(fr.Prepend, asns(op.PrependASPath.Prefix)...)
		case op.SetPriority != nil && !export:
			fr.SetPriority = op.SetPriority.Value
		}
	}
	if export && fc.ownASN != 0 && len(fr.Prepend) > 0 && fr.Prepend[0] != fc.ownASN {
		fr.Prepend = append([]uint32{fc.ownASN}, fr.Prepend...)
	}
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// asns is AS numbers as the BGP speaker takes them.
func asns(in []resources.ASNumber) []uint32 {
	var out []uint32
	for _, a := range in {
		out = append(out, uint32(a))
	}
	return out
}
