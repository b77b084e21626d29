package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/calico-docker/calico-libnetwork/syscheck"
)

// systemConfig is what the system checks need to know of the settings.
func systemConfig(cfg *Config) syscheck.Config {
	return syscheck.Config{
		IptablesBackend: cfg.IptablesBackend, IPv6: cfg.IPv6, IgnoreLooseRPF: cfg.IgnoreLooseRPF,
		PluginDir: cfg.PluginDir, NetworkingBackend: cfg.NetworkingBackend, FlowLogs: cfg.FlowLogs,
	}
}

// checkSystem runs the system checks before anything starts: a host that
// lacks a tool or kernel feature the dataplane needs stops the daemon with
// an error naming what is missing and the package to install, instead of
// a Ready daemon that cannot program a rule. Warnings are logged.
func checkSystem(ctx context.Context, cfg *Config, log *slog.Logger) error {
	rep := syscheck.Check(ctx, systemConfig(cfg))
	for _, w := range rep.Warnings() {
		log.Warn("System check: "+w.Detail, "check", w.Name, "fix", w.Fix)
	}
	if err := rep.Err(); err != nil {
		return fmt.Errorf("%w (see `calicoctl node checksystem`)", err)
	}
	log.Info("System checks passed", "checks", len(rep.Results))
	return nil
}

// systemCheckTTL is how long /readyz reuses the last system check: the
// checks run tools, and a probe may poll every second.
const systemCheckTTL = 30 * time.Second

// watchSystem makes /readyz fail while a system check fails (a tool
// removed after start-up, a sysctl changed).
func (o *observer) watchSystem(cfg *Config) {
	var (
		mu   sync.Mutex
		last time.Time
		err  error
	)
	scfg := systemConfig(cfg)
	o.metrics.AddReadyCheck("system", func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) > systemCheckTTL {
			err, last = syscheck.Check(ctx, scfg).Err(), time.Now()
		}
		return err
	})
}
