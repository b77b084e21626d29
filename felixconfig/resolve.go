package felixconfig

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// Settings are the effective values of the FelixConfiguration fields this
// daemon applies live.
type Settings struct {
	LogLevel             slog.Level // logSeverityScreen
	EndpointToHostAction string     // defaultEndpointToHostAction: Drop, Accept or Return
	IPv6                 bool       // ipv6Support
	// VXLANEnabled and IPIPEnabled: nil follows the IP pools.
	VXLANEnabled, IPIPEnabled     *bool
	VXLANVNI, VXLANPort, VXLANMTU int
	IPIPMTU                       int
	// RouteRefreshInterval and IptablesRefreshInterval: this daemon has one
	// full resync for both (see ResyncInterval).
	RouteRefreshInterval, IptablesRefreshInterval time.Duration
	FailsafeInbound, FailsafeOutbound             []resources.ProtoPort
	// NFTablesMode (nftablesMode: Enabled, Disabled or Auto) chooses the
	// policy dataplane, which the daemon reads when it starts: a change
	// takes effect at the next restart (see Dataplane).
	NFTablesMode string
	// NoIptables is a fact of the host the daemon gives in the base
	// settings: the iptables dataplane cannot run here (see Dataplane).
	NoIptables bool
}

// The policy dataplanes nftablesMode chooses between (the daemon's
// dataplane setting).
const (
	DataplaneIptables = "iptables"
	DataplaneNftables = "nftables"
)

// Dataplane returns the policy dataplane nftablesMode asks for: nftables
// when Enabled, iptables when Disabled. Auto, which in Calico follows
// kube-proxy's mode, follows the host here: nftables where the iptables
// dataplane cannot run (NoIptables: the iptables or ipset binaries are
// missing, as in the managed plugin built for nftables), iptables
// otherwise.
func (s Settings) Dataplane() string {
	switch s.NFTablesMode {
	case "Enabled":
		return DataplaneNftables
	case "Auto":
		if s.NoIptables {
			return DataplaneNftables
		}
	}
	return DataplaneIptables
}

// ResyncInterval is felix's one full-resync period: the shorter of the two
// refresh intervals that is not 0; 0 (no timer) when both are 0.
func (s Settings) ResyncInterval() time.Duration {
	switch r, i := s.RouteRefreshInterval, s.IptablesRefreshInterval; {
	case r == 0:
		return i
	case i == 0:
		return r
	default:
		return min(r, i)
	}
}

// Where a value came from (Result.Sources).
const (
	SourceDaemon  = "daemon setting"
	SourceNode    = "FelixConfiguration node.<name>"
	SourceDefault = "FelixConfiguration default"
	SourceBuiltin = "default"
)

// Result is what Resolve found.
type Result struct {
	Settings Settings
	// Sources maps each applied field (Calico's name) to where its value
	// came from.
	Sources map[string]string
	// NotApplied lists, sorted, what a FelixConfiguration sets that this
	// daemon does not apply live, each saying why ("default: spec.bpfLogLevel:
	// ...").
	NotApplied []string
}

// Resolve returns the settings of a node whose daemon has base (its own
// values, defaults included), given explicitly for the fields in explicit
// (Calico names), under FelixConfiguration def ("default") and node
// ("node.<name>"); either may be nil.
func Resolve(base Settings, explicit map[string]bool, def, node *resources.FelixConfiguration) Result {
	res := Result{Settings: base, Sources: make(map[string]string, len(fields))}
	res.Settings.FailsafeInbound = slices.Clone(base.FailsafeInbound)
	res.Settings.FailsafeOutbound = slices.Clone(base.FailsafeOutbound)
	for _, f := range fields {
		switch {
		case explicit[f.name]:
			res.Sources[f.name] = SourceDaemon
		case node != nil && f.take(&node.Spec, &res.Settings):
			res.Sources[f.name] = SourceNode
		case def != nil && f.take(&def.Spec, &res.Settings):
			res.Sources[f.name] = SourceDefault
		default:
			res.Sources[f.name] = SourceBuiltin
		}
	}
	res.NotApplied = append(notApplied(def), notApplied(node)...)
	slices.Sort(res.NotApplied)
	return res
}

// notApplied lists the fields fc sets that Resolve does not apply.
func notApplied(fc *resources.FelixConfiguration) []string {
	if fc == nil {
		return nil
	}
	var out []string
	for _, name := range fc.Spec.NotApplicable() {
		out = append(out, fmt.Sprintf("%s: spec.%s: not applicable on Docker (this daemon has no such feature); it is kept, not used", fc.Name, name))
	}
	b, err := json.Marshal(fc.Spec)
	if err != nil {
		return out
	}
	var set map[string]json.RawMessage
	_ = json.Unmarshal(b, &set)
	for _, name := range slices.Sorted(maps.Keys(set)) {
		if applied[name] || resources.IsCalicoOnlyFelixField(name) {
			continue
		}
		why, ok := startupOnly[name]
		if !ok {
			why = "not applied by this daemon; it is kept, not used"
		}
		out = append(out, fmt.Sprintf("%s: spec.%s: %s", fc.Name, name, why))
	}
	return out
}

// startupOnly says, for our own fields not applied live, what to use.
var startupOnly = map[string]string{
	"logSeverityFile":          "this daemon has one log level for every output: set logSeverityScreen",
	"logSeveritySys":           "this daemon does not log to syslog: set logSeverityScreen",
	"logFilePath":              "set the daemon's log_file instead (read at start)",
	"iptablesBackend":          "set the daemon's iptables_backend instead (read at start; it must match Docker's)",
	"interfacePrefix":          "workload interfaces are always named cali…",
	"healthPort":               "health is served on the daemon's metrics_addr",
	"healthHost":               "health is served on the daemon's metrics_addr",
	"healthEnabled":            "health is served on the daemon's metrics_addr",
	"prometheusMetricsPort":    "metrics are served on the daemon's metrics_addr",
	"prometheusMetricsHost":    "metrics are served on the daemon's metrics_addr",
	"prometheusMetricsEnabled": "metrics are served on the daemon's metrics_addr",
}
