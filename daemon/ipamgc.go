package daemon

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
)

// startIPAMGC runs the IPAM garbage collector of this node every
// cfg.IPAMGCInterval until ctx ends (see ipam.GC for what it frees and
// why it never frees a live endpoint's address). Only handles the Docker
// drivers make are collected: provisional ones (calico-ipam) and
// endpoint ones (the calico driver).
func startIPAMGC(ctx context.Context, cfg *Config, store *datastore.Store, alloc *ipam.Allocator, log *slog.Logger) error {
	if cfg.IPAMGCInterval == 0 {
		log.Info("IPAM garbage collection is off (ipam_gc_interval 0)")
		return nil
	}
	log = log.With("component", "ipam-gc")
	gc, err := alloc.NewGC(ipam.GCConfig{
		Grace:       cfg.IPAMGCGrace,
		Collectable: collectableHandle,
		Holders:     func(ctx context.Context) (ipam.Holders, error) { return driver.IPAMHolders(ctx, store) },
		Reason:      leakReason,
		Logger:      log,
	})
	if err != nil {
		return err
	}
	go func() {
		t := time.NewTicker(cfg.IPAMGCInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(ctx, cfg.IPAMGCInterval)
			freed, err := gc.Run(rctx)
			cancel()
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("IPAM garbage collection failed; will retry", "err", err, "retryIn", cfg.IPAMGCInterval)
			case len(freed) > 0:
				log.Info("IPAM garbage collection freed leaked addresses", "count", len(freed))
			}
		}
	}()
	log.Info("IPAM garbage collection on", "interval", cfg.IPAMGCInterval, "grace", cfg.IPAMGCGrace)
	return nil
}

func collectableHandle(h string) bool {
	return driver.IsEndpointHandle(h) || strings.HasPrefix(h, ipamdriver.HandlePrefix)
}

func leakReason(h string) string {
	if driver.IsEndpointHandle(h) {
		return "its workload endpoint no longer exists"
	}
	return "provisional address never given to an endpoint"
}
