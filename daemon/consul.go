package daemon

import (
	"context"
	"log/slog"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/consul"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// startConsul registers this node's workloads with the Consul agent at
// consul_addr until ctx ends: the registrar reads the cache's
// EndpointsOfNode and reconciles on every endpoint change (a cache
// subscription), on its timer and after an agent outage. Off when
// consul_addr is empty.
func startConsul(ctx context.Context, cfg *Config, c *cache.Cache, log *slog.Logger) error {
	if cfg.ConsulAddr == "" {
		return nil
	}
	r, err := consul.New(consul.Config{Addr: cfg.ConsulAddr, Node: cfg.NodeName, Endpoints: c, Logger: log})
	if err != nil {
		return configError("consul_addr", cfg.ConsulAddr, err.Error())
	}
	cancel := c.Subscribe("consul", []string{resources.KindWorkloadEndpoint}, func(model.SyncEvent) { r.Notify() })
	go func() {
		defer cancel()
		r.Run(ctx)
	}()
	log.Info("Registering workloads with Consul", "agent", cfg.ConsulAddr)
	return nil
}
