package policy

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

var testSelectors = []string{
	"role == 'a'", "role != 'a'", "has(tier)", "tier == 'x' && role in {'a', 'b'}", "all()",
	"!has(role)", "zone == 'z1'", "role == 'b' || zone == 'z2'",
}

// world generates random datastore changes over a small universe of
// endpoints, profiles and policies, so that every kind of change (labels,
// profile labels, addresses, nodes, selectors, orders, tiers) happens
// often.
type world struct {
	r     *rand.Rand
	state map[string]model.Update
}

func (w *world) pick(options ...string) string { return options[w.r.IntN(len(options))] }

func (w *world) endpoint(i int) resources.Resource {
	wep := resources.NewWorkloadEndpoint(fmt.Sprintf("w%d", i))
	wep.Spec.Node = w.pick("h1", "h1", "h2")
	wep.Spec.InterfaceName = fmt.Sprintf("cali%011d", i)
	wep.Spec.IPNetworks = []string{fmt.Sprintf("10.0.0.%d/32", i+w.r.IntN(2)*100)}
	wep.Spec.Profiles = []string{w.pick("p0", "p1")}
	wep.Labels = map[string]string{}
	if w.r.IntN(4) > 0 {
		wep.Labels["role"] = w.pick("a", "b", "c")
	}
	if w.r.IntN(2) == 0 {
		wep.Labels["tier"] = w.pick("x", "y")
	}
	if w.r.IntN(8) == 0 {
		wep.Annotations = map[string]string{resources.AnnotationLabelsPending: "true"}
	}
	return wep
}

func (w *world) profile(i int) resources.Resource {
	p := resources.NewProfile(fmt.Sprintf("p%d", i))
	p.Spec.LabelsToApply = map[string]string{"zone": w.pick("z1", "z2")}
	p.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow,
		Source: resources.EntityRule{Selector: w.pick(testSelectors...)}}}
	p.Spec.Egress = []resources.Rule{{Action: resources.ActionAllow}}
	return p
}

func (w *world) policy(i int) resources.Resource {
	p := resources.NewGlobalNetworkPolicy(fmt.Sprintf("g%d", i))
	if w.r.IntN(3) > 0 {
		o := float64(w.r.IntN(3))
		p.Spec.Order = &o
	}
	p.Spec.Selector = w.pick(testSelectors...)
	p.Spec.Tier = w.pick("", "t1", "t2")
	if u, ok := w.state[resources.KindGlobalNetworkPolicy+"/"+p.Name]; ok && w.r.IntN(3) == 0 {
		// The same endpoints, often other types (a policy gaining or
		// losing its ingress or egress rules).
		old := u.Object.(*resources.GlobalNetworkPolicy)
		p.Spec.Selector, p.Spec.Tier = old.Spec.Selector, old.Spec.Tier
	}
	rule := resources.Rule{Action: w.pick(resources.ActionAllow, resources.ActionDeny, resources.ActionPass),
		Source: resources.EntityRule{Selector: w.pick(testSelectors...)}}
	if w.r.IntN(4) > 0 {
		p.Spec.Ingress = []resources.Rule{rule}
	}
	if len(p.Spec.Ingress) == 0 || w.r.IntN(2) == 0 {
		p.Spec.Egress = []resources.Rule{{Action: resources.ActionDeny,
			Destination: resources.EntityRule{NotSelector: w.pick(testSelectors...)}}}
	}
	p.Default()
	return p
}

// tier is tier t1 or t2, with a random order (or none) and defaultAction.
func (w *world) tier(i int) resources.Resource {
	t := resources.NewTier(fmt.Sprintf("t%d", i))
	if w.r.IntN(3) > 0 {
		o := float64(w.r.IntN(3)) * 1e6 // before, at and after the default tier
		t.Spec.Order = &o
	}
	t.Spec.DefaultAction = w.pick(resources.TierActionDeny, resources.TierActionPass)
	return t
}

// netSet is a global or namespaced network set with random labels and
// nets (some overlapping endpoint addresses).
func (w *world) netSet(i int) resources.Resource {
	nets := []string{w.pick("10.0.0.0/28", "10.0.0.5/32", "198.51.100.0/24", "fd00::/64"), w.pick("203.0.113.0/24", "10.0.0.100")}
	labels := map[string]string{"role": w.pick("a", "b", "c")}
	if w.r.IntN(2) == 0 {
		labels["zone"] = w.pick("z1", "z2")
	}
	if i%2 == 0 {
		s := resources.NewGlobalNetworkSet(fmt.Sprintf("gns%d", i))
		s.Labels, s.Spec.Nets = labels, nets
		return s
	}
	s := resources.NewNetworkSet(fmt.Sprintf("ns%d", i))
	s.Labels, s.Spec.Nets = labels, nets
	return s
}

// change returns a random batch of updates, applied to w.state.
func (w *world) change() model.SyncEvent {
	var ev model.SyncEvent
	for range 1 + w.r.IntN(3) {
		var obj resources.Resource
		switch i := w.r.IntN(10); w.r.IntN(5) {
		case 0:
			obj = w.endpoint(i)
		case 4:
			obj = w.netSet(i % 4)
		case 1:
			obj = w.profile(i % 2)
		case 2:
			obj = w.tier(1 + i%2)
		default:
			obj = w.policy(i % 6)
		}
		ev.Updates = append(ev.Updates, w.setOrDelete(obj))
	}
	if w.r.IntN(15) == 0 {
		ev = model.SyncEvent{Full: true}
		for _, u := range w.state {
			ev.Updates = append(ev.Updates, u)
		}
	}
	return ev
}

// TestIndexAgreesWithModel applies random changes to an Index and to a
// plain calc.Model and checks that rendering from either gives the same
// chains and IP sets, and that every answer of the Index is the model's.
func TestIndexAgreesWithModel(t *testing.T) {
	for seed := range uint64(20) {
		w := &world{r: rand.New(rand.NewPCG(seed, 1)), state: map[string]model.Update{}}
		x, m := NewIndex("h1"), calc.NewModel()
		full := model.SyncEvent{Full: true}
		x.Apply(full)
		m.Apply(full)
		for step := range 60 {
			ev := w.change()
			x.Apply(ev)
			m.Apply(ev)
			if step%3 != 0 && step != 59 {
				continue // let changes pile up between renders, as events coalesce
			}
			for _, v := range []int{4, 6} {
				cfg := rules.Config{IPVersion: v}
				x.BeginRender()
				got := rules.Render(x, "h1", cfg)
				x.EndRender()
				want := rules.Render(m, "h1", cfg)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("seed %d step %d IPv%d: index render differs from model render\ngot  %+v\nwant %+v",
						seed, step, v, got, want)
				}
			}
			for _, ep := range m.LocalEndpoints("h1") {
				for _, dir := range []calc.Direction{calc.Ingress, calc.Egress} {
					if got, want := x.PoliciesFor(x.Model().Endpoint(ep.Key), dir), m.PoliciesFor(ep, dir); !samePolicies(got, want) {
						t.Fatalf("seed %d step %d: %s %s policies %v, want %v", seed, step, ep.Key, dir, keys(got), keys(want))
					}
				}
			}
		}
	}
}

func samePolicies(a, b []*calc.Policy) bool { return reflect.DeepEqual(keys(a), keys(b)) }

func keys(ps []*calc.Policy) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Key
	}
	return out
}
