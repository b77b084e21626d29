package felix

import (
	"context"
	"fmt"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// Endpoint-to-host actions (Settings.EndpointToHostAction), Calico's.
const (
	EndpointToHostDrop   = "Drop"
	EndpointToHostAccept = "Accept"
	EndpointToHostReturn = "Return"
)

// Settings are the dataplane settings that may change while it runs
// (FelixConfiguration, resolved by the daemon). SetSettings hands a whole
// new value to the loop, which applies it in its next apply: a change
// re-renders policy and makes that apply a full resync. Fields added for
// other managers follow the same path: read them in applySettings.
type Settings struct {
	// EndpointToHostAction is what happens to traffic from a workload to
	// the host itself once its egress policy allowed it: Drop (default),
	// Accept, or Return (to the INPUT chain's later rules).
	EndpointToHostAction string
	// EnableIPv6 programs IPv6 routes, sysctls, ip6tables and IPv6 policy.
	// Turning it off removes our ip6tables chains, IPv6 IP sets and IPv6
	// routes; sysctls already set stay.
	EnableIPv6 bool
	// ResyncInterval between full resyncs; 0 turns the timer off (changes
	// and Kick still apply).
	ResyncInterval time.Duration
	// FailsafeInbound and FailsafeOutbound are the host ports that host
	// endpoint policy never closes (Config.HostEndpoints at start; nil:
	// Calico's defaults, empty: none).
	FailsafeInbound, FailsafeOutbound []resources.ProtoPort
}

// settingsFrom is the Settings a Config starts with.
func settingsFrom(cfg Config) Settings {
	a := EndpointToHostDrop
	if cfg.EndpointToHostAccept {
		a = EndpointToHostAccept
	}
	return Settings{EndpointToHostAction: a, EnableIPv6: cfg.EnableIPv6, ResyncInterval: cfg.ResyncInterval,
		FailsafeInbound: cfg.HostEndpoints.FailsafeInbound, FailsafeOutbound: cfg.HostEndpoints.FailsafeOutbound}
}

// SetSettings replaces the live settings; the loop applies them next. An
// invalid EndpointToHostAction is an error and changes nothing.
func (d *Dataplane) SetSettings(s Settings) error {
	switch s.EndpointToHostAction {
	case EndpointToHostDrop, EndpointToHostAccept, EndpointToHostReturn:
	case "":
		s.EndpointToHostAction = EndpointToHostDrop
	default:
		return fmt.Errorf("endpoint-to-host action %q: use %s, %s or %s", s.EndpointToHostAction,
			EndpointToHostDrop, EndpointToHostAccept, EndpointToHostReturn)
	}
	if s.ResyncInterval < 0 {
		return fmt.Errorf("resync interval %v: use 0 (off) or a positive duration", s.ResyncInterval)
	}
	d.change(func() { d.settings, d.settingsGen = s, d.settingsGen+1 })
	return nil
}

// Settings returns the settings last set (or those Config started with).
func (d *Dataplane) Settings() Settings {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.settings
}

// applySettings, run by the loop before each apply, reconfigures the
// policy model and the kernel state when the settings changed since the
// last call; it reports whether they did (the apply must then be full).
func (d *Dataplane) applySettings(ctx context.Context) bool {
	d.mu.Lock()
	s, gen := d.settings, d.settingsGen
	d.mu.Unlock()
	if gen == d.appliedSettingsGen {
		return false
	}
	d.appliedSettingsGen = gen
	if d.policy != nil {
		d.policy.calc.SetConfig(policyConfig(d.cfg, s))
	}
	d.kernel.setIPv6(ctx, s.EnableIPv6)
	d.resyncEvery = s.ResyncInterval
	d.log.Info("Dataplane settings applied", "endpointToHostAction", s.EndpointToHostAction,
		"ipv6", s.EnableIPv6, "resyncInterval", s.ResyncInterval)
	return true
}

// retime makes the resync ticker follow Settings.ResyncInterval.
func (d *Dataplane) retime(t *time.Ticker, current *time.Duration) {
	if d.resyncEvery == *current {
		return
	}
	*current = d.resyncEvery
	if *current <= 0 {
		t.Stop()
		return
	}
	t.Reset(*current)
}

// setIPv6 turns the IPv6 side of the kernel state on or off: the
// ip6tables filter table is made, or emptied of our chains and IP sets
// and forgotten. Routes follow at the (full) apply that comes next.
func (k *kernelState) setIPv6(ctx context.Context, on bool) {
	if k.cfg.EnableIPv6 == on {
		return
	}
	k.cfg.EnableIPv6 = on
	if on {
		k.filters[6] = k.newFilterTable(6)
		k.iptablesDirty = true
		return
	}
	if t := k.filters[6]; t != nil {
		tctx, cancel := context.WithTimeout(ctx, iptablesTimeout)
		defer cancel()
		_ = t.Replace(nil, nil)
		if _, err := t.Apply(tctx); err != nil {
			k.log.Warn("Removing our ip6tables chains after IPv6 was turned off", "err", err)
		}
		if sets := k.sets[6]; sets != nil {
			sets.SetDesired(nil)
			if err := sets.ApplyDeletions(tctx); err != nil {
				k.log.Warn("Removing our IPv6 IP sets after IPv6 was turned off", "err", err)
			}
		}
	}
	delete(k.filters, 6)
	delete(k.sets, 6)
	delete(k.appliedFilters, 6)
}
