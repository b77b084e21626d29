package daemon

import (
	"sync"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TEMP until cache: sandboxIndex answers the driver's EndpointsOfSandbox
// from the watcher's stream of sync events (it sees every update the
// dataplane sees), holding this node's joined endpoints by sandbox. The
// indexed cache of the datastore replaces it.
type sandboxIndex struct {
	node string

	mu        sync.RWMutex
	bySandbox map[string]map[string]*resources.WorkloadEndpoint // sandbox -> name -> endpoint
	sandboxOf map[string]string                                 // name -> sandbox
}

var _ driver.Endpoints = (*sandboxIndex)(nil)

func newSandboxIndex(node string) *sandboxIndex { // TEMP until cache
	return &sandboxIndex{node: node, bySandbox: map[string]map[string]*resources.WorkloadEndpoint{}, sandboxOf: map[string]string{}}
}

// EndpointsOfSandbox implements driver.Endpoints.
func (x *sandboxIndex) EndpointsOfSandbox(key string) []*resources.WorkloadEndpoint {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*resources.WorkloadEndpoint, 0, len(x.bySandbox[key]))
	for _, w := range x.bySandbox[key] {
		out = append(out, w)
	}
	return out
}

// apply takes one sync event (a Full one replaces everything).
func (x *sandboxIndex) apply(ev datastore.SyncEvent) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if ev.Full {
		clear(x.bySandbox)
		clear(x.sandboxOf)
	}
	for _, u := range ev.Updates {
		if u.Kind != resources.KindWorkloadEndpoint {
			continue
		}
		name := u.Namespace + "/" + u.Name
		if sb, ok := x.sandboxOf[name]; ok {
			delete(x.bySandbox[sb], name)
			if len(x.bySandbox[sb]) == 0 {
				delete(x.bySandbox, sb)
			}
			delete(x.sandboxOf, name)
		}
		w, ok := u.Object.(*resources.WorkloadEndpoint)
		if !ok || w.Spec.Node != x.node || w.Annotations[driver.AnnotationSandbox] == "" {
			continue
		}
		sb := w.Annotations[driver.AnnotationSandbox]
		if x.bySandbox[sb] == nil {
			x.bySandbox[sb] = map[string]*resources.WorkloadEndpoint{}
		}
		x.bySandbox[sb][name] = w
		x.sandboxOf[name] = sb
	}
}

// teeDataplane hands every sync event to the index, then the dataplane.
type teeDataplane struct { // TEMP until cache
	dataplane
	idx *sandboxIndex
}

func (t teeDataplane) OnSyncEvent(ev datastore.SyncEvent) {
	t.idx.apply(ev)
	t.dataplane.OnSyncEvent(ev)
}
