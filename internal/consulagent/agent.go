// Package consulagent is a tiny stand-in for the Consul agent's HTTP API,
// for tests: no Consul server or agent can be installed on these machines.
// It speaks the three calls the consul registrar makes, as the agent
// documents them (developer.hashicorp.com/consul/api-docs/agent/service):
//
//	GET /v1/agent/services?filter=...     map of service ID to service
//	PUT /v1/agent/service/register        an AgentServiceRegistration
//	PUT /v1/agent/service/deregister/:id
//
// The filter is honoured for the one expression the registrar sends
// (Meta["calico-node"] == "NODE"). SetDown makes every call fail with 503,
// as an agent that is restarting.
package consulagent

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/consul/api"
)

// Agent is the stand-in agent.
type Agent struct {
	srv *httptest.Server

	mu       sync.Mutex
	services map[string]*api.AgentService
	down     bool
}

// New starts a stand-in agent; it stops with the test.
func New(t testing.TB) *Agent {
	a := &Agent{services: map[string]*api.AgentService{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

// Addr is the agent address, host:port.
func (a *Agent) Addr() string { return strings.TrimPrefix(a.srv.URL, "http://") }

// SetDown makes the agent fail every call (true) or answer again.
func (a *Agent) SetDown(down bool) {
	a.mu.Lock()
	a.down = down
	a.mu.Unlock()
}

// Services returns a copy of the registered services by ID.
func (a *Agent) Services() map[string]api.AgentService {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]api.AgentService{}
	for k, v := range a.services {
		out[k] = *v
	}
	return out
}

func (a *Agent) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.down {
		http.Error(w, "agent restarting", http.StatusServiceUnavailable)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/agent/services":
		node := ""
		if f := r.URL.Query().Get("filter"); f != "" {
			_, v, ok := strings.Cut(f, " == ")
			if !ok || !strings.HasPrefix(f, `Meta["calico-node"]`) {
				http.Error(w, "unsupported filter "+f, http.StatusBadRequest)
				return
			}
			node = strings.Trim(v, `"`)
		}
		out := map[string]*api.AgentService{}
		for id, s := range a.services {
			if node == "" || s.Meta["calico-node"] == node {
				out[id] = s
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPut && r.URL.Path == "/v1/agent/service/register":
		var reg api.AgentServiceRegistration
		if err := json.NewDecoder(r.Body).Decode(&reg); err != nil || reg.Name == "" {
			http.Error(w, "bad registration", http.StatusBadRequest)
			return
		}
		id := reg.ID
		if id == "" {
			id = reg.Name
		}
		a.services[id] = &api.AgentService{ID: id, Service: reg.Name, Address: reg.Address, Port: reg.Port, Tags: reg.Tags, Meta: reg.Meta}
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v1/agent/service/deregister/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/agent/service/deregister/")
		if _, ok := a.services[id]; !ok {
			http.Error(w, "Unknown service ID "+id, http.StatusNotFound)
			return
		}
		delete(a.services, id)
	default:
		http.Error(w, "not in the stand-in: "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

// Put registers a service directly, as another client of the agent would.
func (a *Agent) Put(s *api.AgentService) {
	a.mu.Lock()
	a.services[s.ID] = s
	a.mu.Unlock()
}
