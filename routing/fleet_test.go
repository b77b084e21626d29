package routing

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// testFleet is a cluster of Nodes fed into a real cache as the syncer
// would feed it: every Node has a BGP address and a VTEP (its /26 block's
// first address), one VXLAN pool holds a block per node, and containers
// come and go on the other nodes (a WorkloadEndpoint and its address in
// its node's block). Node 0 is this host.
type testFleet struct {
	c      *cache.Cache
	nodes  int
	rev    int64
	blocks []*model.Block // the current version of each node's block
}

// fleetPoolCIDR holds node i's block at 10.64.0.0 + 64·i (up to 1,024 nodes).
const fleetPoolCIDR = "10.64.0.0/16"

func fleetNode(i int) string { return fmt.Sprintf("node%04d", i) }

func fleetBlock(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 64, byte(i >> 2), byte(i % 4 * 64)}), 26)
}

// newTestFleet loads n nodes (n ≤ 1,024) into a fresh cache with one Full
// event of every kind routing reads, and WorkloadEndpoints.
func newTestFleet(n int) *testFleet {
	f := &testFleet{c: cache.New(cache.Config{Node: fleetNode(0)}), nodes: n}
	p := resources.NewIPPool("fleet")
	p.Spec.CIDR, p.Spec.VXLANMode, p.Spec.BlockSize = fleetPoolCIDR, resources.EncapAlways, 26
	ups := []model.Update{f.update(model.UpdateOf(p))}
	for i := range n {
		blk := fleetBlock(i)
		nd := node(fleetNode(i), fmt.Sprintf("10.128.%d.%d/16", i/250, i%250+1), nil,
			withVTEP(blk.Addr().String(), fmt.Sprintf("66:00:00:00:%02x:%02x", i>>8, i&0xff)))
		b := &model.Block{CIDR: blk, Affinity: nd.Name, Size: 64,
			Allocations: []model.Allocation{{IP: blk.Addr(), Attrs: map[string]string{model.AttrNode: nd.Name}}}}
		f.blocks = append(f.blocks, b)
		ups = append(ups, f.update(model.UpdateOf(nd)), f.update(model.Update{Kind: model.KindBlock, Name: blk.String(), Block: b}))
	}
	kinds := append(slices.Clone(watchedKinds), resources.KindWorkloadEndpoint)
	f.rev++
	f.c.Apply(model.SyncEvent{Full: true, Kinds: kinds, Updates: ups, Revision: f.rev})
	return f
}

func (f *testFleet) update(u model.Update) model.Update {
	f.rev++
	u.Revision = f.rev
	return u
}

// apply delivers one change as the syncer would.
func (f *testFleet) apply(u model.Update) {
	u = f.update(u)
	f.c.Apply(model.SyncEvent{Updates: []model.Update{u}, Revision: u.Revision})
}

// churn starts or stops container k on one of the other nodes: its
// WorkloadEndpoint and its address in that node's block (allocated for
// the node itself, so no route changes).
func (f *testFleet) churn(k int) {
	h := 1 + k%(f.nodes-1)
	slot := 1 + (k/(f.nodes-1))%63
	old := f.blocks[h]
	ip := netip.AddrFrom4(old.CIDR.Addr().As4())
	for range slot {
		ip = ip.Next()
	}
	b := &model.Block{CIDR: old.CIDR, Affinity: old.Affinity, Size: old.Size}
	w := resources.NewWorkloadEndpoint(fmt.Sprintf("%s-libnetwork-libnetwork-c%d", old.Affinity, slot))
	i, found := slices.BinarySearchFunc(old.Allocations, ip, func(a model.Allocation, ip netip.Addr) int { return a.IP.Compare(ip) })
	b.Allocations = slices.Clone(old.Allocations)
	if found {
		b.Allocations = slices.Delete(b.Allocations, i, i+1)
		f.apply(model.Update{Kind: resources.KindWorkloadEndpoint, Namespace: w.Namespace, Name: w.Name})
	} else {
		b.Allocations = slices.Insert(b.Allocations, i, model.Allocation{IP: ip, Attrs: map[string]string{model.AttrNode: old.Affinity}})
		w.Spec.Node, w.Spec.IPNetworks = old.Affinity, []string{netip.PrefixFrom(ip, 32).String()}
		f.apply(model.UpdateOf(w))
	}
	f.blocks[h] = b
	f.apply(model.Update{Kind: model.KindBlock, Name: b.CIDR.String(), Block: b})
}
