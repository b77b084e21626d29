package daemon

import (
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func joinedWEP(name, node, sandbox string) *resources.WorkloadEndpoint {
	w := resources.NewWorkloadEndpoint(name)
	w.Spec.Node = node
	if sandbox != "" {
		w.Annotations = map[string]string{driver.AnnotationSandbox: sandbox}
	}
	return w
}

// TestSandboxIndex: the TEMP index keeps this node's joined endpoints by
// sandbox, follows moves and deletes, and a Full event replaces it.
func TestSandboxIndex(t *testing.T) {
	x := newSandboxIndex("host1")
	x.apply(datastore.SyncEvent{Full: true, Updates: []datastore.Update{
		datastore.UpdateOf(joinedWEP("a", "host1", "/sb/1")),
		datastore.UpdateOf(joinedWEP("b", "host1", "/sb/1")),
		datastore.UpdateOf(joinedWEP("c", "host2", "/sb/1")), // another node's
		datastore.UpdateOf(joinedWEP("d", "host1", "")),      // not joined
	}})
	if got := x.EndpointsOfSandbox("/sb/1"); len(got) != 2 {
		t.Fatalf("sandbox /sb/1 has %d endpoints, want a and b", len(got))
	}
	x.apply(datastore.SyncEvent{Updates: []datastore.Update{
		datastore.UpdateOf(joinedWEP("b", "host1", "/sb/2")),
		{Kind: resources.KindWorkloadEndpoint, Namespace: resources.DefaultNamespace, Name: "a"},
	}})
	if got := x.EndpointsOfSandbox("/sb/1"); len(got) != 0 {
		t.Errorf("sandbox /sb/1 still has %d endpoints after a delete and a move", len(got))
	}
	if got := x.EndpointsOfSandbox("/sb/2"); len(got) != 1 || got[0].Name != "b" {
		t.Errorf("sandbox /sb/2 = %v, want b", got)
	}
	x.apply(datastore.SyncEvent{Full: true})
	if got := x.EndpointsOfSandbox("/sb/2"); len(got) != 0 {
		t.Errorf("a Full event left %d endpoints", len(got))
	}
}
