package policy

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestRenderIfChangedSkipsOnlyUnseenChanges applies random changes (mostly
// of endpoints, local and remote) to a Calculator and checks that whenever
// RenderIfChanged skips, a render of a plain calc.Model with the same
// changes equals the last render it returned; and when it renders, that
// the result is the model's.
func TestRenderIfChangedSkipsOnlyUnseenChanges(t *testing.T) {
	skipped := 0
	for seed := range uint64(20) {
		w := &world{r: rand.New(rand.NewPCG(seed, 2)), state: map[string]model.Update{}}
		c := NewCalculator(Config{NodeName: "h1", IPVersions: []int{4, 6}})
		m := calc.NewModel()
		full := model.SyncEvent{Full: true}
		c.Apply(full)
		m.Apply(full)
		var last map[int]rules.Result
		for step := range 80 {
			ev := w.change()
			if w.r.IntN(10) < 7 && !ev.Full { // mostly endpoint churn
				ev = model.SyncEvent{Updates: []model.Update{w.endpointChange()}}
			}
			c.Apply(ev)
			m.Apply(ev)
			got, changed := c.RenderIfChanged()
			if changed {
				last = got
			} else {
				skipped++
			}
			for _, v := range []int{4, 6} {
				if want := rules.Render(m, "h1", rules.Config{IPVersion: v}); !reflect.DeepEqual(withoutDelta(last[v]), want) {
					t.Fatalf("seed %d step %d IPv%d (rendered: %v): render differs from the model's\ngot  %+v\nwant %+v",
						seed, step, v, changed, last[v], want)
				}
			}
		}
	}
	t.Logf("%d renders skipped", skipped)
	if skipped == 0 {
		t.Fatal("RenderIfChanged never skipped: the test exercises nothing")
	}
}

// endpointChange changes, creates or deletes one random endpoint.
func (w *world) endpointChange() model.Update { return w.setOrDelete(w.endpoint(w.r.IntN(10))) }

// setOrDelete returns the update storing obj, or one time in five
// deleting it, and records it in w.state.
func (w *world) setOrDelete(obj resources.Resource) model.Update {
	u := model.UpdateOf(obj)
	k := u.Kind + "/" + u.Name
	if w.r.IntN(5) == 0 {
		u.Object = nil
		delete(w.state, k)
	} else {
		w.state[k] = u
	}
	return u
}

// TestRenderIfChangedAfterHostAddrs: new host addresses (which the Index
// does not see) make the next RenderIfChanged render.
func TestRenderIfChangedAfterHostAddrs(t *testing.T) {
	c := NewCalculator(Config{NodeName: "h1", IPVersions: []int{4}})
	c.Apply(model.SyncEvent{Full: true})
	if _, changed := c.RenderIfChanged(); !changed {
		t.Fatal("the first RenderIfChanged did not render")
	}
	if _, changed := c.RenderIfChanged(); changed {
		t.Fatal("RenderIfChanged rendered with nothing changed")
	}
	c.SetHostAddrs(map[netip.Addr]string{netip.MustParseAddr("10.9.0.1"): "eth0"})
	if _, changed := c.RenderIfChanged(); !changed {
		t.Fatal("RenderIfChanged skipped after the host's addresses changed")
	}
}
