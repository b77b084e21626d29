package daemon

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// startIPAMGC runs the IPAM garbage collector of this node every
// cfg.IPAMGCInterval until ctx ends (see ipam.GC for what it frees and
// why it never frees a live endpoint's address). Only handles the Docker
// drivers make are collected: provisional ones (calico-ipam) and
// endpoint ones (the calico driver).
//
// It reads the blocks and the endpoints from the cache, never by listing
// the cluster; its releases stay compare-and-swaps in etcd. The two come
// from two watches (IPAM, resources), which may be a moment apart: an
// endpoint not yet seen makes its handle a suspect only, and a handle is
// freed only when seen dead in two rounds an interval apart and older
// than the grace period, so such a lag never frees a live address.
func startIPAMGC(ctx context.Context, cfg *Config, c *cache.Cache, alloc *ipam.Allocator, log *slog.Logger) error {
	if cfg.IPAMGCInterval == 0 {
		log.Info("IPAM garbage collection is off (ipam_gc_interval 0)")
		return nil
	}
	log = log.With("component", "ipam-gc")
	gc, err := alloc.NewGC(ipam.GCConfig{
		Grace:       cfg.IPAMGCGrace,
		Collectable: collectableHandle,
		Blocks:      func(context.Context) ([]ipam.BlockInfo, error) { return nodeBlocks(c, cfg.NodeName), nil },
		Holders:     func(context.Context) (ipam.Holders, error) { return holders(c), nil },
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

// nodeBlocks lists, from the cache, the blocks holding allocations of
// node, each with those allocations only (all the GC looks at).
func nodeBlocks(c *cache.Cache, node string) []ipam.BlockInfo {
	var out []ipam.BlockInfo
	for _, b := range c.Blocks() {
		var mine []ipam.Allocation
		for _, a := range b.Allocations {
			if a.Node(b) == node {
				mine = append(mine, ipam.Allocation{IP: a.IP, Handle: a.Handle, Attrs: a.Attrs})
			}
		}
		if len(mine) > 0 {
			out = append(out, ipam.BlockInfo{CIDR: b.CIDR, Affinity: b.Affinity, Size: b.Size, Free: b.Free(), Allocations: mine})
		}
	}
	return out
}

// holders are the addresses and handles of every endpoint in the cache
// (the whole cluster's).
func holders(c *cache.Cache) ipam.Holders {
	var weps []*resources.WorkloadEndpoint
	for _, r := range c.Resources(resources.KindWorkloadEndpoint) {
		if w, ok := r.(*resources.WorkloadEndpoint); ok {
			weps = append(weps, w)
		}
	}
	return driver.HoldersOf(weps)
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
