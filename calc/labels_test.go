package calc

import (
	"maps"
	"reflect"
	"testing"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestEndpointsShareEqualLabels: endpoints with equal effective labels
// share one map, a profile change re-derives them, and the shared maps go
// with their last endpoint.
func TestEndpointsShareEqualLabels(t *testing.T) {
	wep := func(name, app string) *resources.WorkloadEndpoint {
		w := resources.NewWorkloadEndpoint(name)
		w.Spec.Node, w.Spec.InterfaceName, w.Spec.Profiles = "h1", "cali"+name, []string{"p"}
		w.Labels = map[string]string{"app": app}
		return w
	}
	prof := func(zone string) *resources.Profile {
		p := resources.NewProfile("p")
		p.Spec.LabelsToApply = map[string]string{"zone": zone}
		return p
	}
	m := NewModel()
	m.Apply(model.SyncEvent{Full: true, Updates: []model.Update{model.UpdateOf(prof("z1")),
		model.UpdateOf(wep("a", "web")), model.UpdateOf(wep("b", "web")), model.UpdateOf(wep("c", "db"))}})
	a, b, c := m.Endpoint("default/a"), m.Endpoint("default/b"), m.Endpoint("default/c")
	if reflect.ValueOf(a.Labels).Pointer() != reflect.ValueOf(b.Labels).Pointer() {
		t.Error("equal labels are not shared")
	}
	want := map[string]string{"app": "db", "zone": "z1", LabelNamespace: "default"}
	if !maps.Equal(c.Labels, want) || len(m.labelSets) != 2 {
		t.Fatalf("labels %v (want %v), %d label sets (want 2)", c.Labels, want, len(m.labelSets))
	}
	m.Update(model.UpdateOf(prof("z2")))
	if a.Labels["zone"] != "z2" || b.Labels["zone"] != "z2" || c.Labels["zone"] != "z2" || len(m.labelSets) != 2 {
		t.Fatalf("after the profile change: %v %v %v, %d label sets", a.Labels, b.Labels, c.Labels, len(m.labelSets))
	}
	for _, name := range []string{"a", "b", "c"} {
		m.Update(model.Update{Kind: resources.KindWorkloadEndpoint, Namespace: "default", Name: name})
	}
	if len(m.labelSets) != 0 {
		t.Fatalf("%d label sets left after every endpoint went", len(m.labelSets))
	}
}
