package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felixconfig"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing"
)

// felixFieldsOfSetting maps the daemon settings that have a
// FelixConfiguration counterpart to its fields. Given explicitly (flag,
// environment, config file), a setting wins over FelixConfiguration, as
// Calico's environment and felix config file do; left at its default, the
// datastore decides.
var felixFieldsOfSetting = map[string][]string{
	"log_level":                    {"logSeverityScreen"},
	"endpoint_to_host_action":      {"defaultEndpointToHostAction"},
	"ipv6":                         {"ipv6Support"},
	"vxlan_vni":                    {"vxlanVNI"},
	"vxlan_port":                   {"vxlanPort"},
	"vxlan_mtu":                    {"vxlanMTU"},
	"ipip_mtu":                     {"ipipMTU"},
	"resync_interval":              {"routeRefreshInterval", "iptablesRefreshInterval"},
	"failsafe_inbound_host_ports":  {"failsafeInboundHostPorts"},
	"failsafe_outbound_host_ports": {"failsafeOutboundHostPorts"},
	"dataplane":                    {"nftablesMode"},
}

// FelixConfigurable reports whether the setting key has a
// FelixConfiguration counterpart: given explicitly it wins, left unset the
// datastore decides (the managed plugin leaves these empty for that).
func FelixConfigurable(key string) bool { _, ok := felixFieldsOfSetting[key]; return ok }

// explicitSettings returns the keys of the settings given by flag,
// environment variable (or an old variable migrate.go honours) or config
// file: those not left at their default.
func explicitSettings(fs *pflag.FlagSet, fileKeys, legacyKeys []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range settings {
		if f := fs.Lookup(s.Flag); f != nil && f.Changed {
			out[s.Key] = true
		}
		if v, ok := os.LookupEnv(s.Env); ok && v != "" {
			out[s.Key] = true
		}
	}
	for _, k := range append(fileKeys, legacyKeys...) {
		out[k] = true
	}
	return out
}

// felixBase is what the daemon's own settings say, before FelixConfiguration.
func felixBase(cfg *Config) (felixconfig.Settings, map[string]bool) {
	action := "Drop"
	if cfg.EndpointToHostAccept {
		action = "Accept"
	}
	if cfg.EndpointToHostAction != "" {
		action = cfg.EndpointToHostAction
	}
	base := felixconfig.Settings{LogLevel: cfg.LogLevel, EndpointToHostAction: action, IPv6: cfg.IPv6,
		VXLANVNI: cfg.VXLANVNI, VXLANPort: cfg.VXLANPort, VXLANMTU: cfg.VXLANMTU, IPIPMTU: cfg.IPIPMTU,
		RouteRefreshInterval: cfg.ResyncInterval, IptablesRefreshInterval: cfg.ResyncInterval,
		FailsafeInbound: cfg.HostProtection.FailsafeInbound, FailsafeOutbound: cfg.HostProtection.FailsafeOutbound,
		NFTablesMode: "Disabled", NoIptables: noIptables()}
	if cfg.Dataplane == felix.DataplaneNftables {
		base.NFTablesMode = "Enabled"
	}
	explicit := map[string]bool{}
	for key, fields := range felixFieldsOfSetting {
		if cfg.Explicit[key] {
			for _, f := range fields {
				explicit[f] = true
			}
		}
	}
	return base, explicit
}

// noIptables reports whether the iptables dataplane's tools are missing
// (nftablesMode: Auto then means nftables).
func noIptables() bool {
	for _, tool := range []string{"iptables", "ipset"} {
		if _, err := exec.LookPath(tool); err != nil {
			return true
		}
	}
	return false
}

// felixSettingsOf and tunnelSettingsOf hand the resolved settings to felix
// and routing.
func felixSettingsOf(s felixconfig.Settings) felix.Settings {
	return felix.Settings{EndpointToHostAction: s.EndpointToHostAction, EnableIPv6: s.IPv6, ResyncInterval: s.ResyncInterval(),
		FailsafeInbound: s.FailsafeInbound, FailsafeOutbound: s.FailsafeOutbound}
}

func tunnelSettingsOf(s felixconfig.Settings) routing.TunnelSettings {
	return routing.TunnelSettings{VXLANEnabled: s.VXLANEnabled, IPIPEnabled: s.IPIPEnabled,
		VXLANVNI: s.VXLANVNI, VXLANPort: s.VXLANPort, VXLANMTU: s.VXLANMTU, IPIPMTU: s.IPIPMTU}
}

// Live-config consumers, each declared by what the daemon needs of it.
type (
	felixSettingsSink  interface{ SetSettings(felix.Settings) error }
	tunnelSettingsSink interface {
		SetTunnels(routing.TunnelSettings) error
	}
	felixConfigSource interface {
		Resources(kind string) []resources.Resource
		Subscribe(name string, kinds []string, fn func(model.SyncEvent)) func()
	}
)

// liveConfig applies FelixConfiguration while the daemon runs: the cache
// subscription "felixconfig" (kind FelixConfiguration) → felixconfig.Resolve
// → the log level, felix.SetSettings (felix's loop applies) and
// routing's SetTunnels. Nothing restarts.
type liveConfig struct {
	node     string
	base     felixconfig.Settings
	explicit map[string]bool
	cache    felixConfigSource
	level    *slog.LevelVar // nil: the level is not changed
	log      *slog.Logger

	mu sync.Mutex
	// running is the dataplane felix was started with (nftablesMode is
	// read at start only); "" before.
	running string
	felix   felixSettingsSink
	tunnels tunnelSettingsSink
	last    *felixconfig.Result
}

func newLiveConfig(cfg *Config, c felixConfigSource, log *slog.Logger) *liveConfig {
	base, explicit := felixBase(cfg)
	return &liveConfig{node: cfg.NodeName, base: base, explicit: explicit, cache: c, level: cfg.LogLevels,
		log: log.With("component", "felixconfig")}
}

// resolve computes the settings from what the cache holds now.
func (l *liveConfig) resolve() felixconfig.Result {
	var def, node *resources.FelixConfiguration
	for _, r := range l.cache.Resources(resources.KindFelixConfiguration) {
		fc, ok := r.(*resources.FelixConfiguration)
		switch {
		case !ok:
		case fc.Name == "default":
			def = fc
		case fc.Name == "node."+l.node:
			node = fc
		}
	}
	return felixconfig.Resolve(l.base, l.explicit, def, node)
}

// attach sets the consumers (either may be nil) and gives them the
// current settings.
func (l *liveConfig) attach(f felixSettingsSink, t tunnelSettingsSink) {
	l.mu.Lock()
	l.felix, l.tunnels, l.last = f, t, nil
	l.mu.Unlock()
	l.apply()
}

// run follows FelixConfiguration until ctx ends.
func (l *liveConfig) run(ctx context.Context) {
	stop := l.cache.Subscribe("felixconfig", []string{resources.KindFelixConfiguration}, func(model.SyncEvent) { l.apply() })
	defer stop()
	<-ctx.Done()
}

// apply resolves and hands over what changed.
func (l *liveConfig) apply() {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := l.resolve()
	if l.last != nil && sameResult(*l.last, res) {
		return
	}
	if l.level != nil {
		l.level.Set(res.Settings.LogLevel)
	}
	if l.felix != nil {
		if err := l.felix.SetSettings(felixSettingsOf(res.Settings)); err != nil {
			l.log.Error("FelixConfiguration refused by the dataplane", "err", err)
		}
	}
	if l.tunnels != nil {
		if err := l.tunnels.SetTunnels(tunnelSettingsOf(res.Settings)); err != nil {
			l.log.Error("FelixConfiguration refused by routing", "err", err)
		}
	}
	if want := res.Settings.Dataplane(); l.running != "" && want != l.running &&
		(l.last == nil || l.last.Settings.Dataplane() != want) {
		l.log.Warn("FelixConfiguration nftablesMode asks for another dataplane: it takes effect when the daemon restarts",
			"nftablesMode", res.Settings.NFTablesMode, "source", res.Sources["nftablesMode"], "dataplane", want, "running", l.running)
	}
	if l.last == nil || !slices.Equal(l.last.NotApplied, res.NotApplied) {
		for _, n := range res.NotApplied {
			l.log.Warn("FelixConfiguration field not applied", "field", n)
		}
	}
	l.last = &res
	l.log.Info("FelixConfiguration applied", "logLevel", res.Settings.LogLevel, "endpointToHostAction", res.Settings.EndpointToHostAction,
		"ipv6", res.Settings.IPv6, "resyncInterval", res.Settings.ResyncInterval(), "sources", sourcesText(res.Sources))
}

// Result reports the settings last applied (for status and tests).
func (l *liveConfig) Result() (felixconfig.Result, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		return felixconfig.Result{}, false
	}
	return *l.last, true
}

func sameResult(a, b felixconfig.Result) bool {
	return slices.Equal(a.NotApplied, b.NotApplied) && sourcesText(a.Sources) == sourcesText(b.Sources) &&
		settingsText(a.Settings) == settingsText(b.Settings)
}

func sourcesText(m map[string]string) string {
	var parts []string
	for _, f := range felixconfig.Fields() {
		if m[f] != felixconfig.SourceBuiltin && m[f] != "" {
			parts = append(parts, f+"="+m[f])
		}
	}
	return strings.Join(parts, ", ")
}

// settingsText is a comparable form of s.
func settingsText(s felixconfig.Settings) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FelixConfigStatus is the status document's view of the live
// FelixConfiguration: the effective values, where each came from (only
// those not at their default), and what is set but not applied.
type FelixConfigStatus struct {
	LogLevel             string            `json:"logLevel"`
	EndpointToHostAction string            `json:"endpointToHostAction"`
	IPv6Support          bool              `json:"ipv6Support"`
	ResyncInterval       string            `json:"resyncInterval"`
	Sources              map[string]string `json:"sources,omitempty"`
	NotApplied           []string          `json:"notApplied,omitempty"`
	// Dataplane is the dataplane nftablesMode resolves to; Pending says
	// when it is not the running one (it takes effect at restart).
	Dataplane string `json:"dataplane"`
	Pending   string `json:"pending,omitempty"`
}

func felixConfigStatusOf(res felixconfig.Result) *FelixConfigStatus {
	st := &FelixConfigStatus{LogLevel: res.Settings.LogLevel.String(), EndpointToHostAction: res.Settings.EndpointToHostAction,
		IPv6Support: res.Settings.IPv6, ResyncInterval: res.Settings.ResyncInterval().String(), NotApplied: res.NotApplied,
		Dataplane: res.Settings.Dataplane()}
	for f, src := range res.Sources {
		if src != felixconfig.SourceBuiltin {
			if st.Sources == nil {
				st.Sources = map[string]string{}
			}
			st.Sources[f] = src
		}
	}
	return st
}

// pendingDataplane explains a dataplane FelixConfiguration asks for that
// is not the running one.
func pendingDataplane(want, running string) string {
	if running == "" || want == running {
		return ""
	}
	return "dataplane " + want + " (nftablesMode) takes effect when the daemon restarts; running: " + running
}

// startedDataplane records the dataplane felix starts with and returns it:
// what FelixConfiguration's nftablesMode resolves to in res (resolve()).
func (l *liveConfig) startedDataplane(res felixconfig.Result) string {
	l.mu.Lock()
	l.running = res.Settings.Dataplane()
	l.mu.Unlock()
	l.log.Info("Policy dataplane", "dataplane", l.running, "nftablesMode", res.Settings.NFTablesMode, "source", res.Sources["nftablesMode"])
	return l.running
}
