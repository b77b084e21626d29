package cache

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func wep(name, node, network, sandbox string, rev int64) *resources.WorkloadEndpoint {
	w := resources.NewWorkloadEndpoint(name)
	w.Namespace = resources.DefaultNamespace
	w.ResourceVersion = strconv.FormatInt(rev, 10)
	w.Spec.Node, w.Spec.Network = node, network
	if sandbox != "" {
		w.Annotations = map[string]string{model.AnnotationSandbox: sandbox}
	}
	return w
}

func del(kind, ns, name string, rev int64) model.Update {
	return model.Update{Kind: kind, Namespace: ns, Name: name, Revision: rev}
}

var resourceKinds = []string{resources.KindWorkloadEndpoint, resources.KindProfile}

// collector records what a subscriber gets.
type collector struct {
	mu  sync.Mutex
	evs []model.SyncEvent
}

func (c *collector) fn(ev model.SyncEvent) {
	c.mu.Lock()
	c.evs = append(c.evs, ev)
	c.mu.Unlock()
}

func (c *collector) wait(t *testing.T, n int) []model.SyncEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		if len(c.evs) >= n {
			out := append([]model.SyncEvent(nil), c.evs...)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("fewer than %d events within 5s", n)
	return nil
}

func TestSubscribeWaitsForSyncThenDeltas(t *testing.T) {
	c := New(Config{Node: "h1"})
	var got collector
	defer c.Subscribe("t", resourceKinds, got.fn)()
	a := wep("a", "h1", "n1", "", 10)
	// Only one of the two kinds listed: no snapshot yet.
	c.Apply(model.SyncEvent{Full: true, Kinds: []string{resources.KindWorkloadEndpoint}, Updates: []model.Update{model.UpdateOf(a)}, Revision: 10})
	time.Sleep(20 * time.Millisecond)
	if len(got.evs) != 0 {
		t.Fatalf("event before every subscribed kind was listed: %+v", got.evs)
	}
	c.Apply(model.SyncEvent{Full: true, Kinds: []string{resources.KindProfile}, Revision: 11})
	evs := got.wait(t, 1)
	if !evs[0].Full || len(evs[0].Updates) != 1 || evs[0].Updates[0].Object != a {
		t.Fatalf("first event = %+v, want Full with the held pointer of a", evs[0])
	}
	c.Apply(model.SyncEvent{Updates: []model.Update{del(resources.KindWorkloadEndpoint, "default", "a", 12)}, Revision: 12})
	evs = got.wait(t, 2)
	if evs[1].Full || len(evs[1].Updates) != 1 || !evs[1].Updates[0].Deleted() {
		t.Fatalf("second event = %+v", evs[1])
	}
}

// TestRelistEmitsOnlyChanges: a Full event after a watch failure yields
// the real differences only, and unchanged objects keep their pointer.
func TestRelistEmitsOnlyChanges(t *testing.T) {
	c := New(Config{Node: "h1"})
	a, b := wep("a", "h1", "n1", "", 10), wep("b", "h2", "n1", "", 11)
	c.Apply(model.SyncEvent{Full: true, Kinds: resourceKinds, Updates: []model.Update{model.UpdateOf(a), model.UpdateOf(b)}, Revision: 11})
	var got collector
	defer c.Subscribe("t", resourceKinds, got.fn)()
	got.wait(t, 1)
	a2, b2, d := wep("a", "h1", "n1", "", 10), wep("b", "h2", "n2", "", 15), wep("d", "h1", "n1", "", 16)
	c.Apply(model.SyncEvent{Full: true, Kinds: resourceKinds, Updates: []model.Update{model.UpdateOf(a2), model.UpdateOf(b2), model.UpdateOf(d)}, Revision: 20})
	c.Apply(model.SyncEvent{Full: true, Kinds: resourceKinds, Updates: []model.Update{model.UpdateOf(b2), model.UpdateOf(d)}, Revision: 21})
	evs := got.wait(t, 2)
	var ups []model.Update
	for _, ev := range evs[1:] {
		if ev.Full {
			t.Fatalf("a re-list reached the subscriber as a Full event: %+v", ev)
		}
		ups = append(ups, ev.Updates...)
	}
	for len(ups) < 3 {
		evs = got.wait(t, len(evs)+1)
		ups = append(ups, evs[len(evs)-1].Updates...)
	}
	seen := map[string]bool{}
	for _, u := range ups {
		seen[fmt.Sprintf("%s deleted=%v", u.Name, u.Deleted())] = true
	}
	if len(ups) != 3 || !seen["b deleted=false"] || !seen["d deleted=false"] || !seen["a deleted=true"] {
		t.Fatalf("changes = %v, want b and d set, a deleted", seen)
	}
	if ws := c.EndpointsOfNetwork("n2"); len(ws) != 1 || ws[0] != b2 {
		t.Fatalf("EndpointsOfNetwork(n2) = %v", ws)
	}
	if ws := c.EndpointsOfNetwork("n1"); len(ws) != 1 || ws[0] != d {
		t.Fatalf("EndpointsOfNetwork(n1) = %v", ws)
	}
}

// TestSlowSubscriberCoalesces: a subscriber stuck in its callback never
// blocks Apply; what queued meanwhile arrives coalesced, one entry per
// object, with the latest value.
func TestSlowSubscriberCoalesces(t *testing.T) {
	c := New(Config{Node: "h1"})
	c.Apply(model.SyncEvent{Full: true, Kinds: resourceKinds, Revision: 1})
	release := make(chan struct{})
	var got collector
	first := true
	defer c.Subscribe("slow", resourceKinds, func(ev model.SyncEvent) {
		if first {
			first = false
			<-release // stuck on the snapshot
		}
		got.fn(ev)
	})()
	time.Sleep(10 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		for i := range 1000 {
			c.Apply(model.SyncEvent{Updates: []model.Update{model.UpdateOf(wep(fmt.Sprint("w", i%10), "h1", "n", "", int64(i+2)))}, Revision: int64(i + 2)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Apply blocked on a slow subscriber")
	}
	close(release)
	evs := got.wait(t, 2)
	if len(evs[1].Updates) != 10 {
		t.Fatalf("coalesced batch holds %d updates, want 10 (one per object)", len(evs[1].Updates))
	}
	for _, u := range evs[1].Updates {
		if u.Revision < 990 {
			t.Fatalf("coalesced update %s has revision %d, not the latest", u.Name, u.Revision)
		}
	}
}

func TestIndexes(t *testing.T) {
	c := New(Config{Node: "h1"})
	ups := []model.Update{
		model.UpdateOf(wep("a", "h1", "n1", "/s/1", 1)),
		model.UpdateOf(wep("b", "h1", "n2", "/s/1", 2)),
		model.UpdateOf(wep("c", "h2", "n1", "/s/1", 3)), // another host's sandbox of the same path
		{Kind: model.KindAffinity, Namespace: "h1", Name: "10.0.0.64/26", Revision: 4,
			Affinity: &model.Affinity{Node: "h1", CIDR: netip.MustParsePrefix("10.0.0.64/26")}},
		{Kind: model.KindAffinity, Namespace: "h1", Name: "10.0.0.0/26", Revision: 5,
			Affinity: &model.Affinity{Node: "h1", CIDR: netip.MustParsePrefix("10.0.0.0/26")}},
	}
	c.Apply(model.SyncEvent{Full: true, Kinds: []string{resources.KindWorkloadEndpoint, model.KindAffinity}, Updates: ups, Revision: 5})
	if ws := c.EndpointsOfSandbox("/s/1"); len(ws) != 2 || ws[0].Name != "a" || ws[1].Name != "b" {
		t.Fatalf("EndpointsOfSandbox = %v, want this node's a and b", ws)
	}
	if ws := c.EndpointsOfNode("h2"); len(ws) != 1 || ws[0].Name != "c" {
		t.Fatalf("EndpointsOfNode(h2) = %v", ws)
	}
	if bs := c.BlocksAffineTo("h1"); len(bs) != 2 || bs[0].String() != "10.0.0.0/26" {
		t.Fatalf("BlocksAffineTo = %v", bs)
	}
	// Moving an endpoint to another sandbox re-indexes it.
	c.Apply(model.SyncEvent{Updates: []model.Update{model.UpdateOf(wep("a", "h1", "n1", "/s/2", 6)),
		del(model.KindAffinity, "h1", "10.0.0.0/26", 7)}, Revision: 7})
	if ws := c.EndpointsOfSandbox("/s/1"); len(ws) != 1 || ws[0].Name != "b" {
		t.Fatalf("after the move, EndpointsOfSandbox(/s/1) = %v", ws)
	}
	if bs := c.BlocksAffineTo("h1"); len(bs) != 1 {
		t.Fatalf("after the delete, BlocksAffineTo = %v", bs)
	}
}
