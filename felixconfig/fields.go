package felixconfig

import (
	"log/slog"
	"slices"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// field is one FelixConfiguration field this daemon applies: take copies
// the spec's value into s and reports true, or reports false when the
// spec leaves it unset.
type field struct {
	name string
	take func(sp *resources.FelixConfigurationSpec, s *Settings) bool
}

// fields are applied in this order; a field appears once.
var fields = []field{
	{"logSeverityScreen", func(sp *resources.FelixConfigurationSpec, s *Settings) bool {
		l, ok := severityLevels[sp.LogSeverityScreen]
		if ok {
			s.LogLevel = l
		}
		return ok
	}},
	{"defaultEndpointToHostAction", str(func(sp *resources.FelixConfigurationSpec) string { return sp.DefaultEndpointToHostAction },
		func(s *Settings, v string) { s.EndpointToHostAction = v })},
	{"ipv6Support", func(sp *resources.FelixConfigurationSpec, s *Settings) bool {
		if sp.IPv6Support != nil {
			s.IPv6 = *sp.IPv6Support
		}
		return sp.IPv6Support != nil
	}},
	{"vxlanEnabled", func(sp *resources.FelixConfigurationSpec, s *Settings) bool {
		s.VXLANEnabled = boolOr(sp.VXLANEnabled, s.VXLANEnabled)
		return sp.VXLANEnabled != nil
	}},
	{"ipipEnabled", func(sp *resources.FelixConfigurationSpec, s *Settings) bool {
		s.IPIPEnabled = boolOr(sp.IPIPEnabled, s.IPIPEnabled)
		return sp.IPIPEnabled != nil
	}},
	{"vxlanVNI", num(func(sp *resources.FelixConfigurationSpec) *int { return sp.VXLANVNI }, func(s *Settings) *int { return &s.VXLANVNI })},
	{"vxlanPort", num(func(sp *resources.FelixConfigurationSpec) *int { return sp.VXLANPort }, func(s *Settings) *int { return &s.VXLANPort })},
	{"vxlanMTU", num(func(sp *resources.FelixConfigurationSpec) *int { return sp.VXLANMTU }, func(s *Settings) *int { return &s.VXLANMTU })},
	{"ipipMTU", num(func(sp *resources.FelixConfigurationSpec) *int { return sp.IPIPMTU }, func(s *Settings) *int { return &s.IPIPMTU })},
	{"routeRefreshInterval", dur(func(sp *resources.FelixConfigurationSpec) *resources.Duration { return sp.RouteRefreshInterval },
		func(s *Settings) *time.Duration { return &s.RouteRefreshInterval })},
	{"iptablesRefreshInterval", dur(func(sp *resources.FelixConfigurationSpec) *resources.Duration { return sp.IptablesRefreshInterval },
		func(s *Settings) *time.Duration { return &s.IptablesRefreshInterval })},
	{"nftablesMode", str(func(sp *resources.FelixConfigurationSpec) string { return sp.NFTablesMode },
		func(s *Settings, v string) { s.NFTablesMode = v })},
	{"failsafeInboundHostPorts", func(sp *resources.FelixConfigurationSpec, s *Settings) bool {
		if sp.FailsafeInboundHostPorts != nil {
			s.FailsafeInbound = slices.Clone(*sp.FailsafeInboundHostPorts)
		}
		return sp.FailsafeInboundHostPorts != nil
	}},
	{"failsafeOutboundHostPorts", func(sp *resources.FelixConfigurationSpec, s *Settings) bool {
		if sp.FailsafeOutboundHostPorts != nil {
			s.FailsafeOutbound = slices.Clone(*sp.FailsafeOutboundHostPorts)
		}
		return sp.FailsafeOutboundHostPorts != nil
	}},
}

// applied are the names of fields.
var applied = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range fields {
		m[f.name] = true
	}
	return m
}()

// Fields lists the FelixConfiguration fields this daemon applies: live,
// except nftablesMode (when the dataplane starts; see Settings.Dataplane).
func Fields() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

// severityLevels maps Calico's log severities to slog levels: Trace and
// Debug to debug, Fatal to above error, None to nothing at all.
var severityLevels = map[string]slog.Level{
	"Trace": slog.LevelDebug - 4, "Debug": slog.LevelDebug, "Info": slog.LevelInfo, "Warning": slog.LevelWarn,
	"Error": slog.LevelError, "Fatal": slog.LevelError + 4, "None": slog.LevelError + 8,
}

func str(get func(*resources.FelixConfigurationSpec) string, set func(*Settings, string)) func(*resources.FelixConfigurationSpec, *Settings) bool {
	return func(sp *resources.FelixConfigurationSpec, s *Settings) bool {
		if v := get(sp); v != "" {
			set(s, v)
			return true
		}
		return false
	}
}

func num(get func(*resources.FelixConfigurationSpec) *int, at func(*Settings) *int) func(*resources.FelixConfigurationSpec, *Settings) bool {
	return func(sp *resources.FelixConfigurationSpec, s *Settings) bool {
		if v := get(sp); v != nil {
			*at(s) = *v
			return true
		}
		return false
	}
}

func dur(get func(*resources.FelixConfigurationSpec) *resources.Duration, at func(*Settings) *time.Duration) func(*resources.FelixConfigurationSpec, *Settings) bool {
	return func(sp *resources.FelixConfigurationSpec, s *Settings) bool {
		if v := get(sp); v != nil {
			*at(s) = v.Duration
			return true
		}
		return false
	}
}

func boolOr(v, old *bool) *bool {
	if v == nil {
		return old
	}
	b := *v
	return &b
}
