package daemon

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/calico-docker/calico-libnetwork/ipam"
)

// ipamIntentsFile, under data_dir, keeps the IPAM releases etcd did not
// answer for (see ipam.Intents) across daemon restarts.
const ipamIntentsFile = "ipam-release-intents.json"

// ipamIntentsRetry is how often pending release intents are retried.
const ipamIntentsRetry = 5 * time.Second

// startupTimeout bounds each start-up resync that reads etcd, so a daemon
// whose etcd is down fails or goes on instead of hanging.
const startupTimeout = 30 * time.Second

// startIPAMIntents loads the pending release intents and applies them,
// now and whenever more are recorded, until ctx ends.
func startIPAMIntents(ctx context.Context, cfg *Config, alloc *ipam.Allocator, log *slog.Logger) error {
	q, err := ipam.OpenIntents(filepath.Join(cfg.DataDir, ipamIntentsFile))
	if err != nil {
		return err
	}
	alloc.SetIntents(q)
	if n := len(q.Pending()); n > 0 {
		log.Info("IPAM release intents pending from before the restart", "count", n)
	}
	go alloc.RunIntents(ctx, ipamIntentsRetry)
	return nil
}
