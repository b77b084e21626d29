package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/calico-docker/calico-libnetwork/consul"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// consulResync is the registrar's period. TEMP until cache: with no
// subscription to endpoint changes yet, the period is what brings
// registrations in line (a few seconds after a container starts or stops).
const consulResync = 5 * time.Second

// startConsul registers this node's workloads with the Consul agent at
// consul_addr, until ctx ends. Off when consul_addr is empty.
func startConsul(ctx context.Context, cfg *Config, store *datastore.Store, log *slog.Logger) error {
	if cfg.ConsulAddr == "" {
		return nil
	}
	r, err := consul.New(consul.Config{Addr: cfg.ConsulAddr, Node: cfg.NodeName,
		Endpoints: storeEndpoints{store: store, last: new([]*resources.WorkloadEndpoint)}, Resync: consulResync, Logger: log})
	if err != nil {
		return configError("consul_addr", cfg.ConsulAddr, err.Error())
	}
	go r.Run(ctx)
	log.Info("Registering workloads with Consul", "agent", cfg.ConsulAddr)
	return nil
}

// storeEndpoints answers EndpointsOfNode by listing the datastore; when
// etcd does not answer it repeats the last answer, so an etcd outage never
// deregisters live workloads. TEMP until cache: the cache's
// EndpointsOfNode replaces it.
type storeEndpoints struct {
	store *datastore.Store
	last  *[]*resources.WorkloadEndpoint // only the registrar's goroutine calls
}

func (s storeEndpoints) EndpointsOfNode(node string) []*resources.WorkloadEndpoint {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, s.store, "")
	if err != nil {
		return *s.last
	}
	var out []*resources.WorkloadEndpoint
	for _, w := range weps {
		if w.Spec.Node == node {
			out = append(out, w)
		}
	}
	*s.last = out
	return out
}
