package routing

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// startRouter runs a Router of node0000 with the VXLAN backend (no BGP
// speaker: nothing listens) on f's cache until the test ends. Its
// Dataplane takes what is handed over and does nothing: the tests read
// what the Router handed over (r.lastDP) and how many plans it made.
func startRouter(tb testing.TB, f *testFleet, resync time.Duration) *Router {
	r, err := New(Config{NodeName: fleetNode(0), Cache: f.c, Nodes: &datastore.Store{}, IPAM: unusedIPAM{},
		Dataplane: unusedDataplane{}, Backend: BackendVXLAN, Resync: resync})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go r.Run(ctx)
	tb.Cleanup(func() {
		cancel()
		<-r.Done()
	})
	return r
}

// routed reports whether the last routes handed over reach dst.
func (r *Router) routed(dst netip.Prefix) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastDP == nil {
		return false
	}
	for _, rt := range r.lastDP.Routes {
		if rt.Dst == dst {
			return true
		}
	}
	return false
}

func waitFor(tb testing.TB, what string, ok func() bool) {
	tb.Helper()
	for end := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			tb.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestPlansOnlyWhenInputsChange: containers coming and going on other
// nodes (endpoints, and addresses their nodes allocate in their own
// blocks) make no plan; a new Node with its block, or an address one node
// borrows from another's block, makes exactly one. Events reach the
// Router in order, so once the route of the last change is handed over,
// every earlier event has been seen.
func TestPlansOnlyWhenInputsChange(t *testing.T) {
	f := newTestFleet(20)
	r := startRouter(t, f, time.Hour)
	waitFor(t, "the first plan", func() bool { return r.routed(fleetBlock(19)) })
	before := r.plans.Load()

	for k := range 100 {
		f.churn(k)
		time.Sleep(time.Millisecond) // let deliveries come one by one (a kick would plan each)
	}
	blk := fleetBlock(20)
	nd := node(fleetNode(20), "10.128.0.21/16", nil, withVTEP(blk.Addr().String(), "66:00:00:00:00:14"))
	f.apply(model.UpdateOf(nd))
	f.apply(model.Update{Kind: model.KindBlock, Name: blk.String(), Block: &model.Block{CIDR: blk, Affinity: nd.Name, Size: 64}})
	waitFor(t, "the route to node0020's block", func() bool { return r.routed(blk) })
	if got := r.plans.Load() - before; got > 2 {
		t.Errorf("100 container changes and one new node made %d plans, want 1 or 2 (the Node and its block)", got)
	}

	before = r.plans.Load()
	borrowed := fleetBlock(7).Addr().Next().Next()
	b := &model.Block{CIDR: fleetBlock(7), Affinity: fleetNode(7), Size: 64,
		Allocations: []model.Allocation{{IP: borrowed, Attrs: map[string]string{model.AttrNode: fleetNode(5)}}}}
	f.apply(model.Update{Kind: model.KindBlock, Name: b.CIDR.String(), Block: b})
	waitFor(t, "the route to the borrowed address", func() bool { return r.routed(netip.PrefixFrom(borrowed, 32)) })
	if got := r.plans.Load() - before; got != 1 {
		t.Errorf("one borrowed address made %d plans, want 1", got)
	}
}

// TestChurnDoesNotWakeTheLoop: the decision itself, without the loop's
// coalescing: a container change on another node leaves no kick, a new
// block does.
func TestChurnDoesNotWakeTheLoop(t *testing.T) {
	f := newTestFleet(5)
	r, err := New(Config{NodeName: fleetNode(0), Cache: f.c, Nodes: &datastore.Store{}, IPAM: unusedIPAM{},
		Dataplane: unusedDataplane{}, Backend: BackendVXLAN})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(u model.Update) {
		r.onSync(model.SyncEvent{Updates: []model.Update{u}})
	}
	b := f.blocks[3]
	churned := &model.Block{CIDR: b.CIDR, Affinity: b.Affinity, Size: b.Size,
		Allocations: append(slices.Clone(b.Allocations), model.Allocation{IP: b.CIDR.Addr().Next(), Attrs: map[string]string{model.AttrNode: b.Affinity}})}
	deliver(model.Update{Kind: model.KindBlock, Name: b.CIDR.String(), Block: b})
	<-r.kick // a block routing did not know yet
	deliver(model.Update{Kind: model.KindBlock, Name: b.CIDR.String(), Block: churned})
	if len(r.kick) != 0 {
		t.Error("a container of node0003 starting in its own block woke the loop")
	}
	churned = &model.Block{CIDR: b.CIDR, Affinity: b.Affinity, Size: b.Size,
		Allocations: append(slices.Clone(b.Allocations), model.Allocation{IP: b.CIDR.Addr().Next(), Attrs: map[string]string{model.AttrNode: fleetNode(1)}})}
	deliver(model.Update{Kind: model.KindBlock, Name: b.CIDR.String(), Block: churned})
	if len(r.kick) != 1 {
		t.Error("an address node0001 borrowed from node0003's block did not wake the loop")
	}
}

// TestResyncPlansWithoutChanges: the periodic resync still plans when no
// input changed (the safety net).
func TestResyncPlansWithoutChanges(t *testing.T) {
	f := newTestFleet(3)
	r := startRouter(t, f, 20*time.Millisecond)
	waitFor(t, "the first plan", func() bool { return r.routed(fleetBlock(2)) })
	before := r.plans.Load()
	waitFor(t, "two resyncs", func() bool { return r.plans.Load() >= before+2 })
}

func TestApplyReportsRoutingChanges(t *testing.T) {
	cidr := "10.65.0.0/26"
	own := block(cidr, "host1", "10.65.0.1@host1")
	tests := []struct {
		name string
		u    model.Update
		want bool
	}{
		{"a container of the block's node starts", model.Update{Kind: model.KindBlock, Name: cidr,
			Block: block(cidr, "host1", "10.65.0.1@host1", "10.65.0.2@host1")}, false},
		{"the same again, no node attribute", model.Update{Kind: model.KindBlock, Name: cidr,
			Block: block(cidr, "host1", "10.65.0.1@host1", "10.65.0.3@")}, false},
		{"another node borrows an address", model.Update{Kind: model.KindBlock, Name: cidr,
			Block: block(cidr, "host1", "10.65.0.1@host1", "10.65.0.2@host2")}, true},
		{"the affinity moves", model.Update{Kind: model.KindBlock, Name: cidr, Block: block(cidr, "host2", "10.65.0.1@host1")}, true},
		{"the block is released", model.Update{Kind: model.KindBlock, Name: cidr}, true},
		{"an unknown block is deleted", model.Update{Kind: model.KindBlock, Name: "10.66.0.0/26"}, false},
		{"a new block", model.Update{Kind: model.KindBlock, Name: "10.66.0.0/26", Block: block("10.66.0.0/26", "host3")}, true},
		{"a Node", model.UpdateOf(node("host3", "10.99.0.3/24", nil)), true},
		{"a kind routing does not read", model.UpdateOf(resources.NewIPReservation("r")), false},
		{"another node's WorkloadEndpoint", model.UpdateOf(otherNodesEndpoint()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clusterOf(node("host1", "10.99.0.1/24", nil))
			c.apply(model.SyncEvent{Updates: []model.Update{{Kind: model.KindBlock, Name: cidr, Block: own}}})
			if got := c.apply(model.SyncEvent{Updates: []model.Update{tt.u}}); got != tt.want {
				t.Errorf("apply reported %v, want %v", got, tt.want)
			}
		})
	}
	if !clusterOf().apply(model.SyncEvent{Full: true}) {
		t.Error("a Full event reported no change")
	}
}

func otherNodesEndpoint() *resources.WorkloadEndpoint {
	w := resources.NewWorkloadEndpoint("w")
	w.Spec.Node = "host9"
	return w
}
