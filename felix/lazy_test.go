package felix

import (
	"testing"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestRemoteOnlyEvents: only events that change nothing but other nodes'
// endpoints may wait for the holdoff; a deletion is remote unless its key
// was last seen on this node. Pure: no kernel.
func TestRemoteOnlyEvents(t *testing.T) {
	d := New(Config{NodeName: "n1"})
	wep := func(name, node string) model.Update {
		w := resources.NewWorkloadEndpoint(name)
		w.Spec.Node = node
		return model.UpdateOf(w)
	}
	del := func(name string) model.Update {
		return model.Update{Kind: resources.KindWorkloadEndpoint, Namespace: resources.DefaultNamespace, Name: name}
	}
	for _, tc := range []struct {
		name string
		ev   model.SyncEvent
		want bool
	}{
		{"full", model.SyncEvent{Full: true, Updates: []model.Update{wep("a", "n1"), wep("b", "n2")}}, false},
		{"remote endpoint", model.SyncEvent{Updates: []model.Update{wep("c", "n2")}}, true},
		{"remote deletion", model.SyncEvent{Updates: []model.Update{del("c")}}, true},
		{"local endpoint", model.SyncEvent{Updates: []model.Update{wep("d", "n1"), wep("e", "n2")}}, false},
		{"local endpoint moved away", model.SyncEvent{Updates: []model.Update{wep("a", "n2")}}, false},
		{"then it is remote", model.SyncEvent{Updates: []model.Update{del("a")}}, true},
		{"local deletion", model.SyncEvent{Updates: []model.Update{del("d")}}, false},
		{"policy", model.SyncEvent{Updates: []model.Update{model.UpdateOf(resources.NewNetworkPolicy("p"))}}, false},
	} {
		d.mu.Lock()
		got := d.remoteOnly(tc.ev)
		d.mu.Unlock()
		if got != tc.want {
			t.Errorf("%s: remote only %v, want %v", tc.name, got, tc.want)
		}
	}
}
