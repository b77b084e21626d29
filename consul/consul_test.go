package consul

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/calico-docker/calico-libnetwork/internal/consulagent"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// endpoints is the endpoint source of the tests: this node's endpoints as
// the cache would hold them (plain data; the registrar only reads them).
type endpoints struct {
	mu   sync.Mutex
	weps map[string]*resources.WorkloadEndpoint
}

func (e *endpoints) EndpointsOfNode(node string) []*resources.WorkloadEndpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []*resources.WorkloadEndpoint
	for _, w := range e.weps {
		if w.Spec.Node == node {
			out = append(out, w)
		}
	}
	return out
}

func (e *endpoints) set(name, node, ip, app, port string) {
	w := resources.NewWorkloadEndpoint(name)
	w.Spec.Node, w.Spec.IPNetworks = node, []string{ip + "/32"}
	w.Annotations = map[string]string{AnnotationApp: app}
	if port != "" {
		w.Annotations[AnnotationServicePort] = port
	}
	e.mu.Lock()
	e.weps[name] = w
	e.mu.Unlock()
}

func (e *endpoints) remove(name string) {
	e.mu.Lock()
	delete(e.weps, name)
	e.mu.Unlock()
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestServiceName(t *testing.T) {
	for in, want := range map[string]string{
		"/testapp": "testapp", "/shop/web": "shop-web", "Shop_Web.v2": "shop-web-v2", "//": "", "  /a//b/ ": "a-b",
	} {
		if got := ServiceName(in); got != want {
			t.Errorf("ServiceName(%q) = %q, want %q", in, got, want)
		}
	}
}

// expect waits until the agent holds exactly want (service ID → "name address:port").
func expect(t *testing.T, a *consulagent.Agent, want map[string]string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		got := map[string]string{}
		for id, s := range a.Services() {
			got[id] = fmt.Sprintf("%s %s:%d", s.Service, s.Address, s.Port)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("agent holds %v, want %v", got, want)
		}
		return nil
	})
}

// TestRegistrarFollowsEndpoints: a container starting and stopping, a
// daemon restart that finds stale and foreign registrations, and an agent
// outage during which containers come and go.
func TestRegistrarFollowsEndpoints(t *testing.T) {
	agent := consulagent.New(t) // stand-in: no Consul can be installed here
	// Left by another node and by a hand: never touched.
	agent.Put(&api.AgentService{ID: "other", Service: "x-direct", Meta: map[string]string{MetaNode: "host2"}})
	agent.Put(&api.AgentService{ID: "manual", Service: "db"})
	// Left by this node before a restart, for an endpoint that is gone.
	agent.Put(&api.AgentService{ID: "calico-dead", Service: "old-direct", Meta: map[string]string{MetaNode: "host1"}})
	eps := &endpoints{weps: map[string]*resources.WorkloadEndpoint{}}
	eps.set("ep-a", "host1", "192.168.0.5", "/testapp", "3000")
	eps.set("ep-far", "host2", "192.168.64.5", "/testapp", "3000") // another node's
	eps.set("ep-noapp", "host1", "192.168.0.6", "", "")

	start := func() (*Registrar, context.CancelFunc) {
		r, err := New(Config{Addr: agent.Addr(), Node: "host1", Endpoints: eps, Resync: 200 * time.Millisecond, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		return r, func() { cancel(); <-done }
	}
	base := map[string]string{"other": "x-direct :0", "manual": "db :0"}
	with := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	r, stop := start()
	expect(t, agent, with(map[string]string{"calico-ep-a": "testapp-direct 192.168.0.5:3000"}))

	eps.set("ep-b", "host1", "192.168.0.7", "/shop/web", "") // container starts
	r.Notify()
	expect(t, agent, with(map[string]string{"calico-ep-a": "testapp-direct 192.168.0.5:3000", "calico-ep-b": "shop-web-direct 192.168.0.7:0"}))
	eps.remove("ep-a") // container stops
	r.Notify()
	expect(t, agent, with(map[string]string{"calico-ep-b": "shop-web-direct 192.168.0.7:0"}))

	stop() // daemon stops; meanwhile ep-b's container stops, ep-c starts
	eps.remove("ep-b")
	eps.set("ep-c", "host1", "192.168.0.8", "/testapp", "3000")
	r, _ = start()
	expect(t, agent, with(map[string]string{"calico-ep-c": "testapp-direct 192.168.0.8:3000"}))

	agent.SetDown(true) // agent outage: changes meanwhile
	eps.remove("ep-c")
	eps.set("ep-d", "host1", "192.168.0.9", "/testapp", "")
	r.Notify()
	time.Sleep(300 * time.Millisecond) // the registrar fails at least once
	agent.SetDown(false)
	expect(t, agent, with(map[string]string{"calico-ep-d": "testapp-direct 192.168.0.9:0"}))
}

func TestNewRefusesIncompleteConfig(t *testing.T) {
	if _, err := New(Config{Node: "n", Endpoints: &endpoints{}}); err == nil {
		t.Error("no error without Addr")
	}
}
