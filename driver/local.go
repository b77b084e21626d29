package driver

import (
	"maps"
	"slices"
	"sync"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// What the driver remembers of its own endpoints between requests.
//
// CreateEndpoint validates an endpoint and remembers it; the
// WorkloadEndpoint is stored only at Join, complete (addresses, gateways,
// sandbox, labels pending), so a container start writes its endpoint
// twice: at Join, and once more when the labeler stores the container's
// labels. A daemon restart between CreateEndpoint and Join forgets the
// endpoint: its Join fails with advice and Docker's retry of the container
// start succeeds.
//
// Join remembers the endpoints it joined, by sandbox, so the next Join
// into the same sandbox sees them even before the daemon's cache of the
// datastore (Config.Endpoints) has caught up with the write.

// createdEndpoint is an endpoint CreateEndpoint accepted, not yet joined.
type createdEndpoint struct {
	req  *endpointRequest
	netw *Network
	wep  *resources.WorkloadEndpoint // labels pending, not stored yet
}

// localEndpoints holds created and joined endpoints; safe for concurrent use.
type localEndpoints struct {
	mu      sync.Mutex
	created map[string]*createdEndpoint // by endpoint ID
	// joined holds, by sandbox key and endpoint ID, each endpoint as Join
	// stored it (never modified afterwards).
	joined    map[string]map[string]*resources.WorkloadEndpoint
	sandboxOf map[string]string // endpoint ID -> sandbox key
}

func newLocalEndpoints() localEndpoints {
	return localEndpoints{created: map[string]*createdEndpoint{},
		joined: map[string]map[string]*resources.WorkloadEndpoint{}, sandboxOf: map[string]string{}}
}

func (l *localEndpoints) create(id string, c *createdEndpoint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.created[id] = c
}

func (l *localEndpoints) createdOf(id string) *createdEndpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.created[id]
}

// join records wep, as stored, joined to its sandbox.
func (l *localEndpoints) join(id, sandbox string, wep *resources.WorkloadEndpoint) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.created, id)
	l.dropJoined(id)
	if l.joined[sandbox] == nil {
		l.joined[sandbox] = map[string]*resources.WorkloadEndpoint{}
	}
	l.joined[sandbox][id] = wep
	l.sandboxOf[id] = sandbox
}

// inSandbox returns the endpoints joined to sandbox.
func (l *localEndpoints) inSandbox(sandbox string) []*resources.WorkloadEndpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Collect(maps.Values(l.joined[sandbox]))
}

// leave forgets that the endpoint is joined (Leave).
func (l *localEndpoints) leave(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropJoined(id)
}

// forget drops everything about the endpoint (DeleteEndpoint).
func (l *localEndpoints) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.created, id)
	l.dropJoined(id)
}

func (l *localEndpoints) dropJoined(id string) {
	sb, ok := l.sandboxOf[id]
	if !ok {
		return
	}
	delete(l.sandboxOf, id)
	delete(l.joined[sb], id)
	if len(l.joined[sb]) == 0 {
		delete(l.joined, sb)
	}
}

// cloneEndpoint copies a WorkloadEndpoint deeply enough to modify the copy
// (its maps and slices) without touching the original.
func cloneEndpoint(w *resources.WorkloadEndpoint) *resources.WorkloadEndpoint {
	c := *w
	c.Labels, c.Annotations = maps.Clone(w.Labels), maps.Clone(w.Annotations)
	c.Spec.IPNetworks, c.Spec.Profiles = slices.Clone(w.Spec.IPNetworks), slices.Clone(w.Spec.Profiles)
	return &c
}
