package routing

import (
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// bgpSettings is the BGPConfiguration that applies to one node: the
// cluster-wide "default" with the node's own "node.<name>" over it.
type bgpSettings struct {
	asn        uint32 // cluster default AS
	mesh       bool
	listenPort int
	// logSeverity is logSeverityScreen ("" if unset).
	logSeverity string
}

func (c *cluster) settingsFor(node string) bgpSettings {
	def := c.configs["default"]
	s := bgpSettings{asn: uint32(resources.DefaultASNumber), mesh: def.MeshEnabled(), listenPort: bgp.DefaultPort}
	if def != nil {
		if def.Spec.ASNumber != nil {
			s.asn = uint32(*def.Spec.ASNumber)
		}
		if def.Spec.ListenPort != 0 {
			s.listenPort = int(def.Spec.ListenPort)
		}
		s.logSeverity = def.Spec.LogSeverityScreen
	}
	if own := c.configs["node."+node]; own != nil {
		if own.Spec.ListenPort != 0 {
			s.listenPort = int(own.Spec.ListenPort)
		}
		if own.Spec.LogSeverityScreen != "" {
			s.logSeverity = own.Spec.LogSeverityScreen
		}
	}
	return s
}

// asnOf is a node's AS: its own, else the cluster default, else 64512.
func (c *cluster) asnOf(n *resources.Node) uint32 {
	if n != nil && n.Spec.BGP != nil && n.Spec.BGP.ASNumber != nil {
		return uint32(*n.Spec.BGP.ASNumber)
	}
	return c.settingsFor("").asn
}

// peerPriority orders the sources of a peering: when two ask for the same
// address, the more specific wins.
var peerPriority = map[bgp.PeerType]int{bgp.PeerMesh: 0, bgp.PeerGlobal: 1, bgp.PeerNode: 2}

// peerSet collects the peers of one node, one per address.
type peerSet struct {
	c      *cluster
	self   *resources.Node
	selfIP netip.Prefix
	self6  netip.Prefix // invalid: no IPv6 sessions
	asn    uint32
	byAddr map[netip.Addr]bgp.Peer
}

// desiredPeers computes this node's BGP sessions, as Calico does:
//   - the node-to-node mesh (BGPConfiguration default nodeToNodeMeshEnabled,
//     default true): every other node with an IPv4 BGP address, and when
//     both have one, its IPv6 address too (a second session, for IPv6);
//   - every BGPPeer that applies to this node — spec.node names it,
//     spec.nodeSelector selects it, or neither is set (a global peer) — to
//     spec.peerIP, or to every node spec.peerSelector selects;
//   - the reverse of peerSelector peerings: a node selected by a BGPPeer's
//     peerSelector peers with every node that BGPPeer applies to, so the
//     two ends of a node-to-node session agree.
//
// A node with spec.bgp.routeReflectorClusterID is a route reflector: its
// non-mesh iBGP peers that are nodes outside its cluster are its clients.
func (c *cluster) desiredPeers(me string) []bgp.Peer {
	self := c.nodes[me]
	ps := &peerSet{c: c, self: self, selfIP: nodeIPv4(self), self6: nodeIPv6(self), asn: c.asnOf(self),
		byAddr: map[netip.Addr]bgp.Peer{}}
	if !ps.selfIP.IsValid() || !ps.selfIP.Addr().Is4() {
		return nil
	}
	nodes := c.sortedNodes()
	if c.settingsFor(me).mesh {
		for _, n := range nodes {
			ps.addNode(n, bgp.PeerMesh, n.Name)
		}
	}
	for _, name := range sortedKeys(c.peers) {
		bp := c.peers[name]
		typ := bgp.PeerNode
		if bp.Spec.Node == "" && bp.Spec.NodeSelector == "" {
			typ = bgp.PeerGlobal
		}
		if appliesTo(bp, self) {
			ps.addForward(bp, typ, nodes)
		}
		if bp.Spec.PeerSelector != "" && matches(bp.Spec.PeerSelector, self) {
			for _, n := range nodes {
				if appliesTo(bp, n) {
					ps.addNode(n, bgp.PeerNode, bp.Name)
				}
			}
		}
	}
	out := make([]bgp.Peer, 0, len(ps.byAddr))
	for _, p := range ps.byAddr {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b bgp.Peer) int { return a.Address.Compare(b.Address) })
	return out
}

// addForward adds the peers a BGPPeer gives this node.
func (ps *peerSet) addForward(bp *resources.BGPPeer, typ bgp.PeerType, nodes []*resources.Node) {
	if bp.Spec.PeerIP != "" {
		addr, port, ok := parsePeerIP(bp.Spec.PeerIP)
		if !ok {
			return
		}
		if n := ps.c.nodeByIP(addr); n != nil {
			p := ps.nodePeer(n, nodeIP(n, addr).Addr(), typ, bp.Name)
			p.ASN = uint32(bp.Spec.ASNumber)
			if port != 0 {
				p.Port = port
			}
			ps.add(p)
			return
		}
		ps.add(bgp.Peer{Address: addr, Port: port, ASN: uint32(bp.Spec.ASNumber), Type: typ, Name: bp.Name,
			Multihop: !ps.local(addr).Contains(addr)})
		return
	}
	for _, n := range nodes {
		if matches(bp.Spec.PeerSelector, n) {
			ps.addNode(n, typ, bp.Name)
		}
	}
}

// addNode adds the sessions to another node (never to this one): to its
// IPv4 address and, when both have one, to its IPv6 address.
func (ps *peerSet) addNode(n *resources.Node, typ bgp.PeerType, name string) {
	if n == ps.self || n.Name == ps.self.Name {
		return
	}
	if ip := nodeIPv4(n); ip.IsValid() && ip.Addr().Is4() {
		ps.add(ps.nodePeer(n, ip.Addr(), typ, name))
	}
	if ip := nodeIPv6(n); ip.IsValid() && ps.self6.IsValid() {
		ps.add(ps.nodePeer(n, ip.Addr(), typ, name))
	}
}

// local is this node's BGP address (with its subnet) of ip's family.
func (ps *peerSet) local(ip netip.Addr) netip.Prefix {
	if ip.Is6() {
		return ps.self6
	}
	return ps.selfIP
}

// nodePeer is the session to another node running this speaker, at its
// address ip: its port, its AS, route-reflector client if we reflect for
// it, and passive on the side with the higher address (see
// bgp.Peer.Passive).
func (ps *peerSet) nodePeer(n *resources.Node, ip netip.Addr, typ bgp.PeerType, name string) bgp.Peer {
	local := ps.local(ip)
	p := bgp.Peer{Address: ip, Port: ps.c.settingsFor(n.Name).listenPort, ASN: ps.c.asnOf(n), Type: typ, Name: name,
		Passive: local.Addr().Compare(ip) > 0, Multihop: !local.Contains(ip)}
	if p.Port == bgp.DefaultPort {
		p.Port = 0
	}
	if cid := clusterID(ps.self); cid != "" && typ != bgp.PeerMesh && clusterID(n) != cid && p.ASN == ps.asn {
		p.RRClient, p.ClusterID = true, cid
	}
	return p
}

func (ps *peerSet) add(p bgp.Peer) {
	if !p.Address.IsValid() || !ps.local(p.Address).IsValid() || p.Address == ps.local(p.Address).Addr() || p.ASN == 0 {
		return
	}
	if old, ok := ps.byAddr[p.Address]; ok && peerPriority[old.Type] >= peerPriority[p.Type] {
		return
	}
	ps.byAddr[p.Address] = p
}

// appliesTo reports whether a BGPPeer configures sessions on node n.
func appliesTo(bp *resources.BGPPeer, n *resources.Node) bool {
	switch {
	case n == nil:
		return false
	case bp.Spec.Node != "":
		return bp.Spec.Node == n.Name
	case bp.Spec.NodeSelector != "":
		return matches(bp.Spec.NodeSelector, n)
	default:
		return true
	}
}

// matches evaluates a selector on a node's labels; a bad selector (the
// datastore validates them) matches nothing.
func matches(sel string, n *resources.Node) bool {
	if sel == "" || n == nil {
		return false
	}
	s, err := selector.Parse(sel)
	return err == nil && s.Evaluate(n.Labels)
}

func (c *cluster) nodeByIP(a netip.Addr) *resources.Node {
	for _, n := range c.nodes {
		if ip := nodeIP(n, a); ip.IsValid() && ip.Addr() == a {
			return n
		}
	}
	return nil
}

// parsePeerIP parses "10.0.0.1" or "10.0.0.1:1790".
func parsePeerIP(s string) (netip.Addr, int, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), int(ap.Port()), true
	}
	a, err := netip.ParseAddr(s)
	return a.Unmap(), 0, err == nil
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
