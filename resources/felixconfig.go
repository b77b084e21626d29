package resources

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// KindFelixConfiguration is the Kind of FelixConfiguration.
const KindFelixConfiguration = "FelixConfiguration"

// FelixConfiguration holds dataplane settings for every node (name
// "default") or one node (name "node.<nodename>", which wins field by
// field). Unset fields take Calico's defaults (see the Effective*
// methods); the daemon applies changes live.
type FelixConfiguration struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       FelixConfigurationSpec `json:"spec"`
}

// FelixConfigurationSpec is the subset of Calico's Felix settings that has
// a meaning for this daemon, with Calico's names.
type FelixConfigurationSpec struct {
	LogSeverityScreen string `json:"logSeverityScreen,omitempty"`
	LogSeverityFile   string `json:"logSeverityFile,omitempty"`
	LogSeveritySys    string `json:"logSeveritySys,omitempty"`
	LogFilePath       string `json:"logFilePath,omitempty"`

	// DefaultEndpointToHostAction: Drop (default), Accept or Return.
	DefaultEndpointToHostAction string `json:"defaultEndpointToHostAction,omitempty"`
	IPv6Support                 *bool  `json:"ipv6Support,omitempty"`
	// WorkloadSourceSpoofing: Disabled (default) or Any.
	WorkloadSourceSpoofing string `json:"workloadSourceSpoofing,omitempty"`
	// IPForwarding: Enabled (default) or Disabled.
	IPForwarding string `json:"ipForwarding,omitempty"`

	VXLANEnabled    *bool  `json:"vxlanEnabled,omitempty"`
	VXLANPort       *int   `json:"vxlanPort,omitempty"`
	VXLANVNI        *int   `json:"vxlanVNI,omitempty"`
	VXLANMTU        *int   `json:"vxlanMTU,omitempty"`
	VXLANMTUV6      *int   `json:"vxlanMTUV6,omitempty"`
	IPIPEnabled     *bool  `json:"ipipEnabled,omitempty"`
	IPIPMTU         *int   `json:"ipipMTU,omitempty"`
	MTUIfacePattern string `json:"mtuIfacePattern,omitempty"`

	RouteRefreshInterval    *Duration `json:"routeRefreshInterval,omitempty"`
	IptablesRefreshInterval *Duration `json:"iptablesRefreshInterval,omitempty"`
	IpsetsRefreshInterval   *Duration `json:"ipsetsRefreshInterval,omitempty"`
	ReportingInterval       *Duration `json:"reportingInterval,omitempty"`
	ReportingTTL            *Duration `json:"reportingTTL,omitempty"`
	IptablesLockTimeout     *Duration `json:"iptablesLockTimeout,omitempty"`

	// Failsafe ports stay open through host endpoint policy so an operator
	// cannot lock themselves out. Unset means Calico's defaults; an empty
	// list means none.
	FailsafeInboundHostPorts  *[]ProtoPort `json:"failsafeInboundHostPorts,omitempty"`
	FailsafeOutboundHostPorts *[]ProtoPort `json:"failsafeOutboundHostPorts,omitempty"`

	InterfacePrefix  string `json:"interfacePrefix,omitempty"`
	InterfaceExclude string `json:"interfaceExclude,omitempty"`
	// ChainInsertMode: Insert (default) or Append.
	ChainInsertMode string `json:"chainInsertMode,omitempty"`
	// IptablesBackend: Auto (default), Legacy or NFT.
	IptablesBackend          string  `json:"iptablesBackend,omitempty"`
	IptablesMarkMask         *uint32 `json:"iptablesMarkMask,omitempty"`
	RemoveExternalRoutes     *bool   `json:"removeExternalRoutes,omitempty"`
	NATOutgoingAddress       string  `json:"natOutgoingAddress,omitempty"`
	NATPortRange             *Port   `json:"natPortRange,omitempty"`
	DeviceRouteSourceAddress string  `json:"deviceRouteSourceAddress,omitempty"`
	DeviceRouteProtocol      *int    `json:"deviceRouteProtocol,omitempty"`

	HealthEnabled            *bool  `json:"healthEnabled,omitempty"`
	HealthHost               string `json:"healthHost,omitempty"`
	HealthPort               *int   `json:"healthPort,omitempty"`
	PrometheusMetricsEnabled *bool  `json:"prometheusMetricsEnabled,omitempty"`
	PrometheusMetricsHost    string `json:"prometheusMetricsHost,omitempty"`
	PrometheusMetricsPort    *int   `json:"prometheusMetricsPort,omitempty"`
	UsageReportingEnabled    *bool  `json:"usageReportingEnabled,omitempty"`

	// NFTablesMode chooses the policy dataplane, as in Calico: Enabled
	// (nftables), Disabled (iptables) or Auto. Read when the daemon starts
	// its dataplane; the daemon's own dataplane setting, given explicitly,
	// wins.
	NFTablesMode string `json:"nftablesMode,omitempty"`

	// Dataplanes this daemon does not have: accepted when off, refused on.
	BPFEnabled         *bool `json:"bpfEnabled,omitempty"`
	XDPEnabled         *bool `json:"xdpEnabled,omitempty"`
	WireguardEnabled   *bool `json:"wireguardEnabled,omitempty"`
	WireguardEnabledV6 *bool `json:"wireguardEnabledV6,omitempty"`

	// CalicoOnly keeps the Calico fields this daemon has no counterpart for
	// (see IsCalicoOnlyFelixField), as written; they are stored and shown,
	// and reported as not applicable on Docker.
	CalicoOnly map[string]json.RawMessage `json:"-"`
}

// ProtoPort is one failsafe port: protocol (tcp, udp or sctp), port, and
// optionally the remote network it applies to.
type ProtoPort struct {
	Protocol string `json:"protocol"`
	Port     uint16 `json:"port"`
	Net      string `json:"net,omitempty"`
}

// DefaultFailsafeInboundHostPorts are Calico's: SSH, DHCP, BGP, etcd,
// Typha, the Kubernetes API and Calico's health ports.
func DefaultFailsafeInboundHostPorts() []ProtoPort {
	return []ProtoPort{{"tcp", 22, ""}, {"udp", 68, ""}, {"tcp", 179, ""}, {"tcp", 2379, ""}, {"tcp", 2380, ""},
		{"tcp", 5473, ""}, {"tcp", 6443, ""}, {"tcp", 6666, ""}, {"tcp", 6667, ""}}
}

// DefaultFailsafeOutboundHostPorts are Calico's: DNS, DHCP, BGP, etcd,
// Typha, the Kubernetes API and Calico's health ports.
func DefaultFailsafeOutboundHostPorts() []ProtoPort {
	return []ProtoPort{{"udp", 53, ""}, {"udp", 67, ""}, {"tcp", 179, ""}, {"tcp", 2379, ""}, {"tcp", 2380, ""},
		{"tcp", 5473, ""}, {"tcp", 6443, ""}, {"tcp", 6666, ""}, {"tcp", 6667, ""}}
}

// EffectiveFailsafeInbound returns the inbound failsafe ports, defaulted.
func (s *FelixConfigurationSpec) EffectiveFailsafeInbound() []ProtoPort {
	if s == nil || s.FailsafeInboundHostPorts == nil {
		return DefaultFailsafeInboundHostPorts()
	}
	return *s.FailsafeInboundHostPorts
}

// EffectiveFailsafeOutbound returns the outbound failsafe ports, defaulted.
func (s *FelixConfigurationSpec) EffectiveFailsafeOutbound() []ProtoPort {
	if s == nil || s.FailsafeOutboundHostPorts == nil {
		return DefaultFailsafeOutboundHostPorts()
	}
	return *s.FailsafeOutboundHostPorts
}

// NewFelixConfiguration returns an empty FelixConfiguration named name.
func NewFelixConfiguration(name string) *FelixConfiguration {
	return &FelixConfiguration{TypeMeta: typeMeta(KindFelixConfiguration), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource. Unset fields stay unset: a node's
// configuration must not hide the cluster's.
func (c *FelixConfiguration) Default() {}

var logSeverities = []string{"Trace", "Debug", "Info", "Warning", "Error", "Fatal", "None"}

// Validate implements Resource. Each kind of check is one table, so a
// new setting is one row.
func (c *FelixConfiguration) Validate() error {
	v := newValidator(c)
	v.name("metadata.name", c.Name, false)
	v.configName(c.Name)
	s := &c.Spec
	for _, f := range s.enumFields() {
		v.optOneOf("spec."+f.name, f.val, f.allowed...)
	}
	for _, f := range s.rangeFields() {
		v.intRange("spec."+f.name, f.val, f.lo, f.hi)
	}
	for _, f := range s.durationFields() {
		if f.val != nil && f.val.Duration < 0 {
			v.add("spec."+f.name, f.val.String(), "must not be negative: use 0 to disable the timer, or a duration such as 90s")
		}
	}
	for _, f := range []struct {
		name  string
		ports *[]ProtoPort
	}{{"failsafeInboundHostPorts", s.FailsafeInboundHostPorts}, {"failsafeOutboundHostPorts", s.FailsafeOutboundHostPorts}} {
		if f.ports != nil {
			v.protoPorts("spec."+f.name, *f.ports)
		}
	}
	if s.IptablesMarkMask != nil && *s.IptablesMarkMask == 0 {
		v.add("spec.iptablesMarkMask", 0, "must leave some mark bits to Calico: use Calico's default 0xffff0000")
	}
	for _, f := range s.dataplaneFields() {
		if f.on != nil && *f.on {
			v.add("spec."+f.name, true, "is not supported on Docker: %s; set it to false or remove it (use IPPool vxlanMode or ipipMode for encapsulation)", f.why)
		}
	}
	return v.err()
}

type enumField struct {
	name, val string
	allowed   []string
}

func (s *FelixConfigurationSpec) enumFields() []enumField {
	return []enumField{
		{"logSeverityScreen", s.LogSeverityScreen, logSeverities},
		{"logSeverityFile", s.LogSeverityFile, logSeverities},
		{"logSeveritySys", s.LogSeveritySys, logSeverities},
		{"defaultEndpointToHostAction", s.DefaultEndpointToHostAction, []string{"Drop", "Accept", "Return"}},
		{"workloadSourceSpoofing", s.WorkloadSourceSpoofing, []string{"Disabled", "Any"}},
		{"ipForwarding", s.IPForwarding, []string{"Enabled", "Disabled"}},
		{"chainInsertMode", s.ChainInsertMode, []string{"Insert", "Append"}},
		{"iptablesBackend", s.IptablesBackend, []string{"Auto", "Legacy", "NFT"}},
		{"nftablesMode", s.NFTablesMode, []string{"Disabled", "Enabled", "Auto"}},
	}
}

type rangeField struct {
	name   string
	val    *int
	lo, hi int
}

func (s *FelixConfigurationSpec) rangeFields() []rangeField {
	return []rangeField{
		{"vxlanPort", s.VXLANPort, 1, 65535}, {"vxlanVNI", s.VXLANVNI, 1, 1<<24 - 1},
		{"vxlanMTU", s.VXLANMTU, 576, 9000}, {"vxlanMTUV6", s.VXLANMTUV6, 1280, 9000}, {"ipipMTU", s.IPIPMTU, 576, 9000},
		{"healthPort", s.HealthPort, 1, 65535}, {"prometheusMetricsPort", s.PrometheusMetricsPort, 1, 65535},
		{"deviceRouteProtocol", s.DeviceRouteProtocol, 1, 255},
	}
}

type durationField struct {
	name string
	val  *Duration
}

func (s *FelixConfigurationSpec) durationFields() []durationField {
	return []durationField{
		{"routeRefreshInterval", s.RouteRefreshInterval}, {"iptablesRefreshInterval", s.IptablesRefreshInterval},
		{"ipsetsRefreshInterval", s.IpsetsRefreshInterval}, {"reportingInterval", s.ReportingInterval},
		{"reportingTTL", s.ReportingTTL}, {"iptablesLockTimeout", s.IptablesLockTimeout},
	}
}

type dataplaneField struct {
	name, why string
	on        *bool
}

// dataplaneFields are the switches of dataplanes this daemon does not have.
func (s *FelixConfigurationSpec) dataplaneFields() []dataplaneField {
	return []dataplaneField{
		{"bpfEnabled", "this daemon programs iptables, not eBPF", s.BPFEnabled},
		{"xdpEnabled", "this daemon has no XDP dataplane", s.XDPEnabled},
		{"wireguardEnabled", "this daemon does not run WireGuard", s.WireguardEnabled},
		{"wireguardEnabledV6", "this daemon does not run WireGuard", s.WireguardEnabledV6},
	}
}

func (v *validator) protoPorts(field string, ports []ProtoPort) {
	for i, p := range ports {
		f := fieldIdx(field, i)
		if pr, err := ParseProtocol(p.Protocol); err != nil || !pr.HasPorts() {
			v.add(f+".protocol", p.Protocol, "must be tcp, udp or sctp")
		}
		if p.Net != "" {
			if _, err := ParseNet(p.Net); err != nil {
				v.add(f+".net", p.Net, "is not a CIDR: give one such as 10.0.0.0/8")
			}
		}
	}
}

// configName checks the name of a per-node-or-cluster configuration kind.
func (v *validator) configName(name string) {
	if name != "" && name != "default" && !strings.HasPrefix(name, "node.") {
		v.add("metadata.name", name, "takes effect only as \"default\" (every node) or \"node.<nodename>\" (one node): rename it")
	}
}

func (v *validator) optOneOf(field, val string, allowed ...string) {
	if val != "" {
		v.oneOf(field, val, allowed...)
	}
}

func (v *validator) intRange(field string, n *int, lo, hi int) {
	if n != nil && (*n < lo || *n > hi) {
		v.add(field, *n, "must be between %d and %d", lo, hi)
	}
}

// Duration is a time.Duration written as Go duration text ("90s"), as
// Calico's (Kubernetes') Duration fields are.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads duration text such as "90s" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be text such as \"90s\", not %s", b)
	}
	parsed, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: use a number with a unit, such as 90s or 5m", s)
	}
	d.Duration = parsed
	return nil
}
