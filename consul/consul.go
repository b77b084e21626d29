// Package consul registers this node's Calico workloads with the local
// Consul agent, as the cluster distribution's Calico did: each container
// on a calico network whose app is known (the task's MARATHON_APP_ID, or
// the label org.projectcalico.app for plain Docker; the driver keeps it
// as an endpoint annotation) is the service "<app>-direct" at its Calico
// address, with SERVICE_PORT as its port when given.
//
// Reconciling, not replaying: the desired set is computed from this
// node's endpoints (EndpointsOfNode) and compared with the agent's list of
// services; missing or changed registrations are made, and registrations
// of this node that no endpoint wants any more are removed. This runs at
// start (so a restart cleans up what died meanwhile), on every change
// notification (Notify), on a timer, and again after the agent failed (an
// outage), so Consul never keeps a dead workload for long.
//
// Only services this registrar made are touched: they carry the meta
// calico-node=<node>.
package consul

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// Endpoints is what the registrar needs of the endpoint cache.
type Endpoints interface {
	// EndpointsOfNode returns the endpoints of one node; callers never
	// modify them.
	EndpointsOfNode(node string) []*resources.WorkloadEndpoint
}

// Endpoint annotations the driver writes from the container's environment
// (driver.AnnotationApp, driver.AnnotationServicePort).
const (
	AnnotationApp         = "libnetwork.projectcalico.org/app"
	AnnotationServicePort = "libnetwork.projectcalico.org/service-port"
	annotationPending     = resources.AnnotationLabelsPending
)

// Meta keys on our registrations.
const (
	MetaNode     = "calico-node"
	MetaEndpoint = "calico-endpoint"
)

// Config configures a Registrar.
type Config struct {
	Addr      string // the agent, host:port (e.g. 127.0.0.1:8500)
	Node      string
	Endpoints Endpoints
	// Resync is the period of the full reconcile (default 30s); after a
	// failure it retries sooner, backing off up to Resync.
	Resync time.Duration
	Logger *slog.Logger
}

// Registrar keeps the agent's registrations equal to this node's endpoints.
type Registrar struct {
	cfg   Config
	agent *api.Agent
	kick  chan struct{}
	log   *slog.Logger
}

// New returns a Registrar for the agent at cfg.Addr.
func New(cfg Config) (*Registrar, error) {
	if cfg.Addr == "" || cfg.Node == "" || cfg.Endpoints == nil {
		return nil, fmt.Errorf("consul registrar: Addr, Node and Endpoints are required")
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	acfg := api.DefaultConfig()
	acfg.Address = cfg.Addr
	acfg.HttpClient = nil
	cli, err := api.NewClient(acfg)
	if err != nil {
		return nil, fmt.Errorf("consul agent %s: %w", cfg.Addr, err)
	}
	return &Registrar{cfg: cfg, agent: cli.Agent(), kick: make(chan struct{}, 1),
		log: cfg.Logger.With("component", "consul", "agent", cfg.Addr)}, nil
}

// Notify says this node's endpoints changed; calls coalesce.
func (r *Registrar) Notify() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run reconciles until ctx ends.
func (r *Registrar) Run(ctx context.Context) {
	retry := time.Second
	healthy := true
	for {
		wait := r.cfg.Resync
		if err := r.Reconcile(ctx); err != nil {
			if healthy {
				r.log.Warn("Consul agent unreachable; registrations will catch up when it answers", "err", err)
			}
			healthy, wait = false, retry
			retry = min(retry*2, r.cfg.Resync)
		} else {
			if !healthy {
				r.log.Info("Consul agent answers again; registrations caught up")
			}
			healthy, retry = true, time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-time.After(wait):
		}
	}
}

// Reconcile makes one pass: register what is missing or changed,
// deregister what no endpoint wants.
func (r *Registrar) Reconcile(ctx context.Context) error {
	want := Desired(r.cfg.Node, r.cfg.Endpoints.EndpointsOfNode(r.cfg.Node))
	have, err := r.agent.ServicesWithFilterOpts(fmt.Sprintf("Meta[%q] == %q", MetaNode, r.cfg.Node), (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return fmt.Errorf("list services of consul agent %s: %w", r.cfg.Addr, err)
	}
	for id, reg := range want {
		if cur, ok := have[id]; ok && same(cur, reg) {
			continue
		}
		if err := r.agent.ServiceRegisterOpts(reg, api.ServiceRegisterOpts{}.WithContext(ctx)); err != nil {
			return fmt.Errorf("register %s (%s) with consul agent %s: %w", reg.Name, reg.Address, r.cfg.Addr, err)
		}
		r.log.Info("Registered workload in Consul", "service", reg.Name, "id", id, "address", reg.Address, "port", reg.Port)
	}
	for id, cur := range have {
		if _, ok := want[id]; ok || cur.Meta[MetaNode] != r.cfg.Node {
			continue
		}
		if err := r.agent.ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
			return fmt.Errorf("deregister %s from consul agent %s: %w", id, r.cfg.Addr, err)
		}
		r.log.Info("Deregistered workload from Consul", "service", cur.Service, "id", id)
	}
	return nil
}

func same(cur *api.AgentService, reg *api.AgentServiceRegistration) bool {
	return cur.Service == reg.Name && cur.Address == reg.Address && cur.Port == reg.Port &&
		cur.Meta[MetaEndpoint] == reg.Meta[MetaEndpoint] && strings.Join(cur.Tags, ",") == strings.Join(reg.Tags, ",")
}

// Desired is the registration of each endpoint of node whose app is known,
// keyed by service ID ("calico-" + endpoint name). Endpoints whose labels
// are pending (their traffic is dropped) are left out until they are done.
func Desired(node string, weps []*resources.WorkloadEndpoint) map[string]*api.AgentServiceRegistration {
	out := map[string]*api.AgentServiceRegistration{}
	for _, w := range weps {
		app := ServiceName(w.Annotations[AnnotationApp])
		addrs := w.Addrs()
		if app == "" || len(addrs) == 0 || w.Annotations[annotationPending] == "true" || w.Spec.Node != node {
			continue
		}
		sort.Slice(addrs, func(i, j int) bool { return addrs[i].Addr().Is4() && !addrs[j].Addr().Is4() })
		port, _ := strconv.Atoi(w.Annotations[AnnotationServicePort])
		id := "calico-" + w.Name
		out[id] = &api.AgentServiceRegistration{
			ID: id, Name: app + "-direct", Address: addrs[0].Addr().String(), Port: port, Tags: []string{"calico"},
			Meta: map[string]string{MetaNode: node, MetaEndpoint: w.Name},
		}
	}
	return out
}

// ServiceName maps an app ID to a Consul service name (a DNS label:
// lower-case letters, digits and '-'): Marathon's "/shop/web" is
// "shop-web". "" when nothing usable remains.
func ServiceName(app string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(strings.Trim(strings.TrimSpace(app), "/")) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		switch {
		case ok:
			b.WriteRune(c)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}
