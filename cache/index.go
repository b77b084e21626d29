package cache

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// endpointSet is a set of endpoints keyed by namespace/name.
type endpointSet map[name]*resources.WorkloadEndpoint

// indexes answer the consumers' questions without scanning; kept by
// Cache.set under Cache.mu.
type indexes struct {
	byNode    map[string]endpointSet
	bySandbox map[string]endpointSet // this node's endpoints only
	byNetwork map[string]endpointSet
	affine    map[string]map[netip.Prefix]struct{} // node -> blocks (from affinity keys)
}

func newIndexes() indexes {
	return indexes{byNode: map[string]endpointSet{}, bySandbox: map[string]endpointSet{},
		byNetwork: map[string]endpointSet{}, affine: map[string]map[netip.Prefix]struct{}{}}
}

func (x *indexes) add(node, kind string, n name, it item) {
	switch kind {
	case resources.KindWorkloadEndpoint:
		w, ok := it.res.(*resources.WorkloadEndpoint)
		if !ok {
			return
		}
		addTo(x.byNode, w.Spec.Node, n, w)
		addTo(x.byNetwork, w.Spec.Network, n, w)
		if w.Spec.Node == node {
			addTo(x.bySandbox, w.Annotations[model.AnnotationSandbox], n, w)
		}
	case model.KindAffinity:
		if it.aff == nil {
			return
		}
		s := x.affine[it.aff.Node]
		if s == nil {
			s = map[netip.Prefix]struct{}{}
			x.affine[it.aff.Node] = s
		}
		s[it.aff.CIDR] = struct{}{}
	}
}

func (x *indexes) remove(node, kind string, n name, it item) {
	switch kind {
	case resources.KindWorkloadEndpoint:
		w, ok := it.res.(*resources.WorkloadEndpoint)
		if !ok {
			return
		}
		removeFrom(x.byNode, w.Spec.Node, n)
		removeFrom(x.byNetwork, w.Spec.Network, n)
		if w.Spec.Node == node {
			removeFrom(x.bySandbox, w.Annotations[model.AnnotationSandbox], n)
		}
	case model.KindAffinity:
		if it.aff == nil {
			return
		}
		if s := x.affine[it.aff.Node]; s != nil {
			delete(s, it.aff.CIDR)
			if len(s) == 0 {
				delete(x.affine, it.aff.Node)
			}
		}
	}
}

// addTo indexes w under k; empty keys are not indexed.
func addTo(idx map[string]endpointSet, k string, n name, w *resources.WorkloadEndpoint) {
	if k == "" {
		return
	}
	s := idx[k]
	if s == nil {
		s = endpointSet{}
		idx[k] = s
	}
	s[n] = w
}

func removeFrom(idx map[string]endpointSet, k string, n name) {
	if s := idx[k]; s != nil {
		delete(s, n)
		if len(s) == 0 {
			delete(idx, k)
		}
	}
}

// sorted returns the set's endpoints ordered by namespace and name.
func (s endpointSet) sorted() []*resources.WorkloadEndpoint {
	out := make([]*resources.WorkloadEndpoint, 0, len(s))
	for _, w := range s {
		out = append(out, w)
	}
	slices.SortFunc(out, func(a, b *resources.WorkloadEndpoint) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// EndpointsOfSandbox returns this node's endpoints joined to the sandbox
// (the network namespace path a Join gave), sorted by name.
func (c *Cache) EndpointsOfSandbox(sandboxKey string) []*resources.WorkloadEndpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idx.bySandbox[sandboxKey].sorted()
}

// EndpointsOfNode returns the endpoints of one node, sorted by name.
func (c *Cache) EndpointsOfNode(node string) []*resources.WorkloadEndpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idx.byNode[node].sorted()
}

// EndpointsOfNetwork returns the endpoints of one Docker network (by
// the WorkloadEndpoint's spec.network), sorted by name.
func (c *Cache) EndpointsOfNetwork(networkID string) []*resources.WorkloadEndpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.idx.byNetwork[networkID].sorted()
}

// BlocksAffineTo returns the IPAM blocks node holds affinity for (its
// affinity keys, whatever their state, as ipam.Allocator.AffineBlocks),
// sorted.
func (c *Cache) BlocksAffineTo(node string) []netip.Prefix {
	c.mu.Lock()
	out := make([]netip.Prefix, 0, len(c.idx.affine[node]))
	for p := range c.idx.affine[node] {
		out = append(out, p)
	}
	c.mu.Unlock()
	slices.SortFunc(out, comparePrefix)
	return out
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

func sortBlocks(bs []*model.Block) {
	slices.SortFunc(bs, func(a, b *model.Block) int { return comparePrefix(a.CIDR, b.CIDR) })
}
