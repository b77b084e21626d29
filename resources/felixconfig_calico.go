package resources

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// calicoOnlyFelixFields are the fields of Calico's FelixConfiguration that
// this daemon has no counterpart for (eBPF, WireGuard, nftables tuning, flow logs,
// OpenStack, Windows, debug and tuning knobs of Calico's own felix, and
// ignoreLooseRPF of older Calico versions). A document from Calico's
// documentation that sets them is accepted and keeps them (calicoctl get
// shows them); the daemon reports them as not applicable on Docker
// instead of refusing them as typos.
var calicoOnlyFelixFields = func() map[string]bool {
	const names = `
	allowIPIPPacketsFromWorkloads allowVXLANPacketsFromWorkloads awsSrcDstCheck bpfAttachType
	bpfCTLBLogFilter bpfConnectTimeLoadBalancing bpfConnectTimeLoadBalancingEnabled
	bpfConntrackLogLevel bpfConntrackMode bpfConntrackTimeouts bpfDSROptoutCIDRs
	bpfDataIfacePattern bpfDisableGROForIfaces bpfDisableUnprivileged bpfEnforceRPF
	bpfExcludeCIDRsFromNAT bpfExportBufferSizeMB bpfExtToServiceConnmark bpfExternalServiceMode
	bpfForceTrackPacketsFromIfaces bpfHostConntrackBypass bpfHostNetworkedNATWithoutCTLB
	bpfKubeProxyEndpointSlicesEnabled bpfKubeProxyIptablesCleanupEnabled bpfKubeProxyMinSyncPeriod
	bpfL3IfacePattern bpfLogFilters bpfLogLevel bpfMapSizeConntrack bpfMapSizeConntrackCleanupQueue
	bpfMapSizeConntrackScaling bpfMapSizeIPSets bpfMapSizeIfState bpfMapSizeNATAffinity
	bpfMapSizeNATBackend bpfMapSizeNATFrontend bpfMapSizePerCpuConntrack bpfMapSizeRoute
	bpfPSNATPorts bpfPolicyDebugEnabled bpfProfiling bpfRedirectToPeer cgroupV2Path dataplaneDriver
	dataplaneWatchdogTimeout debugDisableLogDropping debugHost debugMemoryProfilePath debugPort
	debugSimulateCalcGraphHangAfter debugSimulateDataplaneApplyDelay debugSimulateDataplaneHangAfter
	deviceRouteSourceAddressIPv6 disableConntrackInvalidCheck endpointReportingDelay
	endpointReportingEnabled endpointStatusPathPrefix externalNodesList featureDetectOverride
	featureGates floatingIPs flowLogsCollectorDebugTrace flowLogsFlushInterval flowLogsGoldmaneServer
	flowLogsLocalReporter flowLogsPolicyEvaluationMode genericXDPEnabled goGCThreshold
	goMaxProcs goMemoryLimitMB healthTimeoutOverrides ignoreLooseRPF interfaceRefreshInterval
	iptablesFilterAllowAction iptablesFilterDenyAction iptablesLockFilePath iptablesLockProbeInterval
	iptablesMangleAllowAction iptablesNATOutgoingInterfaceFilter iptablesPostWriteCheckInterval
	kubeNodePortRanges logDebugFilenameRegex logPrefix maxIpsetSize metadataAddr metadataPort
	natOutgoingExclusions netlinkTimeout nftablesFilterAllowAction nftablesFilterDenyAction
	nftablesMangleAllowAction nftablesMarkMask nftablesRefreshInterval
	openstackRegion policySyncPathPrefix programClusterRoutes prometheusGoMetricsEnabled
	prometheusProcessMetricsEnabled prometheusWireGuardMetricsEnabled requireMTUFile
	routeSource routeSyncDisabled routeTableRange routeTableRanges serviceLoopPrevention
	sidecarAccelerationEnabled usageReportingInitialDelay usageReportingInterval
	useInternalDataplaneDriver windowsManageFirewallRules wireguardHostEncryptionEnabled
	wireguardInterfaceName wireguardInterfaceNameV6 wireguardKeepAlive wireguardListeningPort
	wireguardListeningPortV6 wireguardMTU wireguardMTUV6 wireguardRoutingRulePriority
	wireguardThreadingEnabled xdpRefreshInterval
`
	m := map[string]bool{}
	for _, n := range strings.Fields(names) {
		m[n] = true
	}
	return m
}()

// IsCalicoOnlyFelixField reports whether name is a Calico FelixConfiguration
// field this daemon keeps but does not apply.
func IsCalicoOnlyFelixField(name string) bool { return calicoOnlyFelixFields[name] }

// NotApplicable lists, sorted, the Calico fields set in the spec that
// this daemon keeps but has no counterpart for.
func (s *FelixConfigurationSpec) NotApplicable() []string {
	return slices.Sorted(maps.Keys(s.CalicoOnly))
}

// felixSpecFields is the decoding view of FelixConfigurationSpec (no
// methods, so no recursion).
type felixSpecFields FelixConfigurationSpec

// UnmarshalJSON decodes the spec strictly, setting aside Calico's fields
// this daemon has no counterpart for into CalicoOnly.
func (s *FelixConfigurationSpec) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var other map[string]json.RawMessage
	for k, v := range raw {
		if calicoOnlyFelixFields[k] {
			if other == nil {
				other = map[string]json.RawMessage{}
			}
			other[k] = v
			delete(raw, k)
		}
	}
	rest, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	var f felixSpecFields
	if err := dec.Decode(&f); err != nil {
		return err
	}
	*s = FelixConfigurationSpec(f)
	s.CalicoOnly = other
	return nil
}

// MarshalJSON writes the spec with the Calico-only fields it keeps.
func (s FelixConfigurationSpec) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(felixSpecFields(s))
	if err != nil || len(s.CalicoOnly) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	maps.Copy(m, s.CalicoOnly)
	return json.Marshal(m)
}

// extraFields is implemented by specs that accept fields beyond their
// struct fields (for unknownFieldPath).
type extraFields interface{ acceptsField(name string) bool }

func (*FelixConfigurationSpec) acceptsField(name string) bool { return calicoOnlyFelixFields[name] }

var extraFieldsType = reflect.TypeFor[extraFields]()

// acceptsExtra reports whether struct type t takes key beyond its fields.
func acceptsExtra(t reflect.Type, key string) bool {
	if !reflect.PointerTo(t).Implements(extraFieldsType) {
		return false
	}
	return reflect.New(t).Interface().(extraFields).acceptsField(key)
}
