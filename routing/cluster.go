package routing

import (
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// watchedKinds are the resources routing follows.
var watchedKinds = []string{resources.KindNode, resources.KindBGPPeer, resources.KindBGPConfiguration, resources.KindIPPool,
	resources.KindBGPFilter, model.KindBlock, resources.KindWorkloadEndpoint}

// cluster is what routing knows of the datastore: the watched resources
// and the IPAM blocks (shared with the cache: never mutated). It is plain data; the functions computing desired
// state from it are pure.
type cluster struct {
	nodes   map[string]*resources.Node
	peers   map[string]*resources.BGPPeer
	configs map[string]*resources.BGPConfiguration
	pools   map[string]*resources.IPPool
	filters map[string]*resources.BGPFilter
	blocks  map[netip.Prefix]*model.Block
	// node is this node's name; ifaces are the interfaces of its
	// workloads (by endpoint), the interfaces of its own routes that
	// BGPFilter interface rules match (ifaces.go).
	node   string
	ifaces map[string]workloadIface
}

func newCluster() *cluster {
	return &cluster{nodes: map[string]*resources.Node{}, peers: map[string]*resources.BGPPeer{},
		configs: map[string]*resources.BGPConfiguration{}, pools: map[string]*resources.IPPool{},
		filters: map[string]*resources.BGPFilter{}, blocks: map[netip.Prefix]*model.Block{}, ifaces: map[string]workloadIface{}}
}

// apply folds one sync event into the model. It reports whether anything
// routing reads changed: a Full event, any update of the resources it
// watches, a block added, removed or changed in what routing reads of it
// (see routedSame); a block whose only change is an address allocated to
// or released by its own node (a container started or stopped there) is
// kept but changes no plan.
func (c *cluster) apply(ev model.SyncEvent) (changed bool) {
	changed = ev.Full
	if ev.Full {
		clear(c.nodes)
		clear(c.peers)
		clear(c.configs)
		clear(c.pools)
		clear(c.filters)
		clear(c.blocks)
		clear(c.ifaces)
	}
	for _, u := range ev.Updates {
		switch u.Kind {
		case resources.KindNode:
			setOrDelete(c.nodes, u)
		case resources.KindBGPPeer:
			setOrDelete(c.peers, u)
		case resources.KindBGPConfiguration:
			setOrDelete(c.configs, u)
		case resources.KindIPPool:
			setOrDelete(c.pools, u)
		case resources.KindBGPFilter:
			setOrDelete(c.filters, u)
		case model.KindBlock:
			changed = c.setBlock(u) || changed
			continue
		case resources.KindWorkloadEndpoint:
			changed = c.setIface(u) || changed
			continue
		default:
			continue
		}
		changed = true
	}
	return changed
}

// setBlock keeps one IPAM block (u.Name is its CIDR) and reports whether
// routing sees a difference.
func (c *cluster) setBlock(u model.Update) bool {
	cidr, err := netip.ParsePrefix(u.Name)
	if err != nil {
		return false
	}
	old, had := c.blocks[cidr]
	if u.Block == nil {
		delete(c.blocks, cidr)
		return had
	}
	c.blocks[cidr] = u.Block
	return !had || !routedSame(old, u.Block)
}

// routedSame reports whether two versions of a block are the same to
// routing, which reads a block's CIDR, its affinity and the addresses
// allocated in it for another node (borrowed: exported or routed as /32s).
func routedSame(a, b *model.Block) bool {
	if a.CIDR != b.CIDR || a.Affinity != b.Affinity {
		return false
	}
	ia, ib := 0, 0
	for {
		ia, ib = nextBorrowed(a, ia), nextBorrowed(b, ib)
		if ia == len(a.Allocations) || ib == len(b.Allocations) {
			return ia == len(a.Allocations) && ib == len(b.Allocations)
		}
		x, y := a.Allocations[ia], b.Allocations[ib]
		if x.IP != y.IP || x.Attrs[model.AttrNode] != y.Attrs[model.AttrNode] {
			return false
		}
		ia, ib = ia+1, ib+1
	}
}

// nextBorrowed is the index, from i on, of b's next allocation made for a
// node other than its affinity (len(b.Allocations) when none is left).
func nextBorrowed(b *model.Block, i int) int {
	for ; i < len(b.Allocations); i++ {
		if n := b.Allocations[i].Attrs[model.AttrNode]; n != "" && n != b.Affinity {
			return i
		}
	}
	return i
}

func setOrDelete[T resources.Resource](m map[string]T, u model.Update) {
	if u.Deleted() {
		delete(m, u.Name)
		return
	}
	if obj, ok := u.Object.(T); ok {
		m[u.Name] = obj
	}
}

// nodeIPv4 is a node's BGP IPv4 address with its subnet; invalid when the
// node has none.
func nodeIPv4(n *resources.Node) netip.Prefix {
	if n == nil || n.Spec.BGP == nil {
		return netip.Prefix{}
	}
	return parseHostCIDR(n.Spec.BGP.IPv4Address)
}

// nodeIPv6 is a node's BGP IPv6 address with its subnet; invalid when the
// node has none.
func nodeIPv6(n *resources.Node) netip.Prefix {
	if n == nil || n.Spec.BGP == nil {
		return netip.Prefix{}
	}
	if p := parseHostCIDR(n.Spec.BGP.IPv6Address); p.Addr().Is6() {
		return p
	}
	return netip.Prefix{}
}

// nodeIP is a node's BGP address of the family of a (IPv4 or IPv6).
func nodeIP(n *resources.Node, a netip.Addr) netip.Prefix {
	if a.Is6() {
		return nodeIPv6(n)
	}
	return nodeIPv4(n)
}

// parseHostCIDR parses "10.0.0.1/24" (or a bare address, as /32).
func parseHostCIDR(s string) netip.Prefix {
	if s == "" {
		return netip.Prefix{}
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits())
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.BitLen())
	}
	return netip.Prefix{}
}

// clusterID is the route-reflector cluster ID of a node ("" if none).
func clusterID(n *resources.Node) string {
	if n == nil || n.Spec.BGP == nil {
		return ""
	}
	return n.Spec.BGP.RouteReflectorClusterID
}

// vtepOf is a node's VXLAN tunnel endpoint, if it published a complete one.
func vtepOf(n *resources.Node) (addr netip.Addr, mac net.HardwareAddr, ok bool) {
	a, err := netip.ParseAddr(n.Spec.IPv4VXLANTunnelAddr)
	if err != nil {
		return netip.Addr{}, nil, false
	}
	m, err := net.ParseMAC(n.Spec.VXLANTunnelMACAddr)
	if err != nil {
		return netip.Addr{}, nil, false
	}
	return a, m, true
}

// sortedNodes returns the nodes in name order (stable plans and logs).
func (c *cluster) sortedNodes() []*resources.Node {
	out := make([]*resources.Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *resources.Node) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// poolFor returns the pool containing p (the most specific), or nil.
func (c *cluster) poolFor(p netip.Prefix) *resources.IPPool {
	var best *resources.IPPool
	bestBits := -1
	for _, pool := range c.pools {
		cidr, err := resources.ParseCIDR(pool.Spec.CIDR)
		if err != nil || !cidr.Contains(p.Addr()) || cidr.Bits() > p.Bits() {
			continue
		}
		if cidr.Bits() > bestBits {
			best, bestBits = pool, cidr.Bits()
		}
	}
	return best
}
