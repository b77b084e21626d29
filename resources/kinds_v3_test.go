package resources

import (
	"strings"
	"testing"
)

const hdr = "apiVersion: projectcalico.org/v3\n"

// TestV3KindsBadInput: every new kind refuses bad input with an error that
// names the field's full path and says what to do.
func TestV3KindsBadInput(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"hep no node", "kind: HostEndpoint\nmetadata: {name: h}\nspec: {interfaceName: eth0}\n", "spec.node: is required"},
		{"hep no iface", "kind: HostEndpoint\nmetadata: {name: h}\nspec: {node: host1}\n", "spec.interfaceName: is required unless spec.expectedIPs"},
		{"hep bad ip", "kind: HostEndpoint\nmetadata: {name: h}\nspec: {node: host1, expectedIPs: [10.0.0.0/24]}\n", "spec.expectedIPs[0] (10.0.0.0/24): is not an IP address"},
		{"hep bad port proto", "kind: HostEndpoint\nmetadata: {name: h}\nspec: {node: host1, interfaceName: '*', ports: [{name: p, port: 1, protocol: ICMP}]}\n", "spec.ports[0].protocol"},
		{"hep bad label", "kind: HostEndpoint\nmetadata: {name: h, labels: {'a b': x}}\nspec: {node: host1, interfaceName: eth0}\n", "metadata.labels"},
		{"gns bad net", "kind: GlobalNetworkSet\nmetadata: {name: s}\nspec: {nets: [10.0.0.0/33]}\n", "spec.nets[0] (10.0.0.0/33): is not a CIDR"},
		{"ns bad namespace", "kind: NetworkSet\nmetadata: {name: s, namespace: Bad_NS}\nspec: {nets: [10.0.0.0/8]}\n", "metadata.namespace (Bad_NS): is not a valid namespace"},
		{"tier bad action", "kind: Tier\nmetadata: {name: t}\nspec: {defaultAction: Allow}\n", "spec.defaultAction (Allow): must be one of [Deny Pass]"},
		{"default tier order", "kind: Tier\nmetadata: {name: default}\nspec: {order: 5}\n", "spec.order (5): of the default tier is fixed"},
		{"staged bad action", "kind: StagedGlobalNetworkPolicy\nmetadata: {name: p}\nspec: {stagedAction: Apply}\n", "spec.stagedAction (Apply)"},
		{"staged delete with rules", "kind: StagedNetworkPolicy\nmetadata: {name: p}\nspec: {stagedAction: Delete, ingress: [{action: Allow}]}\n", "Delete takes no selector"},
		{"felix bad name", "kind: FelixConfiguration\nmetadata: {name: mine}\nspec: {}\n", "\"node.<nodename>\""},
		{"felix bad action", "kind: FelixConfiguration\nmetadata: {name: default}\nspec: {defaultEndpointToHostAction: Allow}\n", "spec.defaultEndpointToHostAction"},
		{"felix bad duration", "kind: FelixConfiguration\nmetadata: {name: default}\nspec: {routeRefreshInterval: soon}\n", "use a number with a unit"},
		{"felix bad failsafe", "kind: FelixConfiguration\nmetadata: {name: node.h1}\nspec: {failsafeInboundHostPorts: [{protocol: icmp, port: 22}]}\n", "spec.failsafeInboundHostPorts[0].protocol"},
		{"felix bpf", "kind: FelixConfiguration\nmetadata: {name: default}\nspec: {bpfEnabled: true}\n", "spec.bpfEnabled (true): is not supported on Docker"},
		{"felix vxlan mtu", "kind: FelixConfiguration\nmetadata: {name: default}\nspec: {vxlanMTU: 100}\n", "spec.vxlanMTU (100): must be between"},
		{"clusterinfo name", "kind: ClusterInformation\nmetadata: {name: other}\nspec: {}\n", "metadata.name (other): must be \"default\""},
		{"ipres empty", "kind: IPReservation\nmetadata: {name: r}\nspec: {}\n", "spec.reservedCIDRs: is required"},
		{"ipres bad", "kind: IPReservation\nmetadata: {name: r}\nspec: {reservedCIDRs: [nope]}\n", "spec.reservedCIDRs[0] (nope)"},
		{"bgpfilter family", "kind: BGPFilter\nmetadata: {name: f}\nspec: {exportV4: [{action: Accept, matchOperator: In, cidr: 'fd00::/64'}]}\n", "spec.exportV4[0].cidr (fd00::/64): is of the wrong address family"},
		{"bgpfilter action", "kind: BGPFilter\nmetadata: {name: f}\nspec: {importV6: [{action: Drop}]}\n", "spec.importV6[0].action"},
		{"bgpfilter op", "kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Reject, operations: [{setPriority: {value: 5}}]}]}\n", "spec.importV4[0].operations: apply only to accepted routes"},
		{"bgpfilter community", "kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Reject, communities: {values: ['65536:1']}}]}\n", "spec.importV4[0].communities.values[0] (65536:1): has a part above 65535"},
		{"bgpfilter large community", "kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Reject, communities: {values: ['1:2:4294967296']}}]}\n", "spec.importV4[0].communities.values[0] (1:2:4294967296): has a part above 4294967295"},
		{"bgpfilter two communities", "kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Reject, communities: {values: ['1:1', '1:2']}}]}\n", "spec.importV4[0].communities.values (2): must list exactly one community"},
		{"bgpfilter no community", "kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Reject, communities: {}}]}\n", "spec.importV4[0].communities.values (0): must list exactly one"},
		{"bgpfilter add community", "kind: BGPFilter\nmetadata: {name: f}\nspec: {exportV6: [{action: Accept, operations: [{addCommunity: {value: 'x:1'}}]}]}\n", "spec.exportV6[0].operations[0].addCommunity.value (x:1): is not a community"},
		{"bgpfilter interface", "kind: BGPFilter\nmetadata: {name: f}\nspec: {exportV4: [{action: Reject, interface: 'eth0/1'}]}\n", "spec.exportV4[0].interface (eth0/1): is not an interface name or pattern"},
		{"bgpfilter prefix length alone", "kind: BGPFilter\nmetadata: {name: f}\nspec: {exportV4: [{action: Reject, prefixLength: {min: 24}}]}\n", "spec.exportV4[0].prefixLength: needs cidr"},
		{"bgpfilter priority", "kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Accept, priority: 0}]}\n", "spec.importV4[0].priority (0): must be between 1 and 2147483646"},
		{"bgpfilter set priority", "kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Accept, operations: [{setPriority: {value: 2147483647}}]}]}\n", "spec.importV4[0].operations[0].setPriority.value (2147483647)"},
		{"bgpfilter two ops in one", "kind: BGPFilter\nmetadata: {name: f}\nspec: {importV4: [{action: Accept, operations: [{setPriority: {value: 5}, addCommunity: {value: '1:1'}}]}]}\n", "spec.importV4[0].operations[0]: must set exactly one of"},
		{"bgpfilter prepend zero", "kind: BGPFilter\nmetadata: {name: f}\nspec: {exportV4: [{action: Accept, operations: [{prependASPath: {prefix: [0]}}]}]}\n", "spec.exportV4[0].operations[0].prependASPath.prefix[0] (0): must be a non-zero AS number"},
		{"bgpfilter source", "kind: BGPFilter\nmetadata: {name: f}\nspec: {exportV4: [{action: Reject, source: Local}]}\n", "spec.exportV4[0].source (Local): must be one of [RemotePeers]"},
		{"peer password", "kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: 1, password: {}}\n", "spec.password.secretKeyRef: is required"},
		{"peer next hop", "kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: 1, nextHopMode: Other}\n", "spec.nextHopMode"},
		{"pool uses", "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/16, allowedUses: [Workloads]}\n", "spec.allowedUses[0] (Workloads)"},
		{"pool mode", "kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/16, assignmentMode: Auto}\n", "spec.assignmentMode (Auto)"},
		{"np host field", "kind: NetworkPolicy\nmetadata: {name: p}\nspec: {doNotTrack: true}\n", "spec.doNotTrack: is a field of GlobalNetworkPolicy only"},
		{"prednat without aof", "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {preDNAT: true}\n", "spec.applyOnForward (false): must be true"},
		{"prednat egress", "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {preDNAT: true, applyOnForward: true, egress: [{action: Allow}]}\n", "spec.egress: cannot be used with spec.preDNAT"},
		{"dnt and prednat", "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {preDNAT: true, doNotTrack: true, applyOnForward: true}\n", "spec.preDNAT (true): cannot be set together"},
		{"service account selector", "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {serviceAccountSelector: 'role == \"x\"'}\n", "spec.serviceAccountSelector: is a Calico field that does not apply on Docker"},
		{"http", "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {ingress: [{action: Allow, http: {methods: [GET]}}]}\n", "spec.ingress[0].http: is a Calico field that does not apply on Docker"},
		{"services", "kind: NetworkPolicy\nmetadata: {name: p}\nspec: {egress: [{action: Allow, destination: {services: {name: kubernetes, namespace: default}}}]}\n", "spec.egress[0].destination.services: is a Calico field that does not apply on Docker"},
		{"service accounts", "kind: NetworkPolicy\nmetadata: {name: p}\nspec: {ingress: [{action: Allow, source: {serviceAccounts: {names: [a]}}}]}\n", "spec.ingress[0].source.serviceAccounts"},
		{"rule annotation key", "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {ingress: [{action: Allow, metadata: {annotations: {'bad key': x}}}]}\n", "spec.ingress[0].metadata.annotations (bad key)"},
		{"perf hint", "kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {performanceHints: [Fast]}\n", "spec.performanceHints[0] (Fast)"},
		{"real typo still refused", "kind: HostEndpoint\nmetadata: {name: h}\nspec: {node: host1, interfaceNme: eth0}\n", "spec.interfaceNme: is not a field of HostEndpoint: remove it or fix its spelling"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeAndValidate(hdr + tc.doc)
			if err == nil {
				t.Fatalf("want error containing %q, got none", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func decodeAndValidate(doc string) error {
	objs, err := DecodeBytes([]byte(doc))
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := o.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func TestRealFieldsAccepted(t *testing.T) {
	docs := []string{
		"kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {doNotTrack: true, applyOnForward: true, selector: has(host), ingress: [{action: Allow}]}\n",
		"kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: 64512, keepOriginalNextHop: true, password: {secretKeyRef: {name: bgp-passwords, key: peer_a_pw}}, filters: [my-filter]}\n",
		"kind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/16, disableBGPExport: true, allowedUses: [Workload], assignmentMode: Manual}\n",
		"kind: NetworkPolicy\nmetadata: {name: p, namespace: team-a}\nspec: {ingress: [{action: Allow, source: {namespaceSelector: global(), selector: role == 'db'}}]}\n",
		"kind: GlobalNetworkPolicy\nmetadata: {name: p}\nspec: {namespaceSelector: projectcalico.org/name == 'team-a', performanceHints: [AssumeNeededOnEveryNode]}\n",
		"kind: StagedGlobalNetworkPolicy\nmetadata: {name: p}\nspec: {stagedAction: Delete}\n",
		"kind: ClusterInformation\nmetadata: {name: default}\nspec: {clusterGUID: 0f1e2d3c4b5a, clusterType: docker, calicoVersion: v3.28.0, datastoreReady: true}\n",
		"kind: FelixConfiguration\nmetadata: {name: node.host-1}\nspec: {logSeverityScreen: Debug, ipv6Support: false, vxlanEnabled: true, vxlanMTU: 1410, routeRefreshInterval: 1m30s, failsafeInboundHostPorts: [], bpfEnabled: false}\n",
	}
	for i, d := range docs {
		if err := decodeAndValidate(hdr + d); err != nil {
			t.Errorf("doc %d: %v", i, err)
		}
	}
}

func TestDuplicateKeysRefused(t *testing.T) {
	for _, doc := range []string{
		hdr + "kind: IPPool\nmetadata: {name: p}\nspec:\n  cidr: 10.0.0.0/16\n  cidr: 10.1.0.0/16\n",
		`{"apiVersion": "projectcalico.org/v3", "kind": "IPPool", "metadata": {"name": "p"}, "spec": {"natOutgoing": true, "natOutgoing": false, "cidr": "10.0.0.0/16"}}`,
	} {
		_, err := DecodeBytes([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), "given twice") {
			t.Errorf("want a duplicate-key error, got %v", err)
		}
	}
}

func TestTopLevelArrays(t *testing.T) {
	yamlArr := "- " + strings.ReplaceAll(strings.TrimSpace(hdr+"kind: Tier\nmetadata: {name: t1}\nspec: {order: 1}"), "\n", "\n  ") +
		"\n- " + strings.ReplaceAll(strings.TrimSpace(hdr+"kind: Tier\nmetadata: {name: t2}"), "\n", "\n  ") + "\n"
	jsonArr := `[{"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkSet", "metadata": {"name": "s"}, "spec": {"nets": ["10.0.0.0/8"]}},
	 {"apiVersion": "projectcalico.org/v3", "kind": "List", "items": [{"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "t"}}]}]`
	for _, in := range []string{yamlArr, jsonArr} {
		objs, err := DecodeBytes([]byte(in))
		if err != nil || len(objs) != 2 {
			t.Fatalf("got %d objects, %v\n%s", len(objs), err, in)
		}
	}
	_, err := DecodeBytes([]byte(`[{"apiVersion": "projectcalico.org/v3", "kind": "Tier", "metadata": {"name": "t"}, "spec": {"ordr": 1}}]`))
	if err == nil || !strings.Contains(err.Error(), "[0]: Tier \"t\": spec.ordr") {
		t.Fatalf("array element error should name the element and field: %v", err)
	}
}

func TestTierDefaults(t *testing.T) {
	d := NewDefaultTier()
	if d.Spec.Order == nil || *d.Spec.Order != DefaultTierOrder || d.Spec.DefaultAction != TierActionDeny {
		t.Fatalf("default tier: %+v", d.Spec)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	p := NewGlobalNetworkPolicy("p")
	p.Default()
	if p.Spec.Tier != DefaultTierName {
		t.Fatalf("tier not defaulted: %q", p.Spec.Tier)
	}
}

func TestFelixDefaults(t *testing.T) {
	var s *FelixConfigurationSpec
	if in := s.EffectiveFailsafeInbound(); len(in) != 9 || in[0] != (ProtoPort{"tcp", 22, ""}) {
		t.Fatalf("inbound defaults: %v", in)
	}
	empty := []ProtoPort{}
	s = &FelixConfigurationSpec{FailsafeOutboundHostPorts: &empty}
	if out := s.EffectiveFailsafeOutbound(); len(out) != 0 {
		t.Fatalf("an empty list must mean none: %v", out)
	}
}

func TestIPPoolAllowedUses(t *testing.T) {
	p := NewIPPool("p")
	if !p.AllowsUse(IPPoolUseWorkload) || !p.AllowsUse(IPPoolUseTunnel) || p.AllowsUse(IPPoolUseLoadBalancer) {
		t.Fatal("default uses are Workload and Tunnel")
	}
	p.Spec.AllowedUses = []string{IPPoolUseTunnel}
	if p.AllowsUse(IPPoolUseWorkload) {
		t.Fatal("a Tunnel-only pool must not serve workloads")
	}
}

// TestCalicoctlAliases: every name calicoctl accepts for a kind
// (its resourcemgr registrations) finds that kind here.
func TestCalicoctlAliases(t *testing.T) {
	want := map[string][]string{
		KindIPPool:                    {"ippool", "ippools", "ipp", "ipps", "pool", "pools"},
		KindNode:                      {"node", "nodes", "no", "nos"},
		KindBGPPeer:                   {"bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps"},
		KindGlobalNetworkSet:          {"globalnetworkset", "globalnetworksets", "gnetsets"},
		KindGlobalNetworkPolicy:       {"globalnetworkpolicy", "globalnetworkpolicies", "gnp", "gnps"},
		KindNetworkPolicy:             {"networkpolicy", "networkpolicies", "policy", "np", "policies", "pol", "pols"},
		KindNetworkSet:                {"networkset", "networksets", "netsets"},
		KindWorkloadEndpoint:          {"workloadendpoint", "workloadendpoints", "wep", "weps"},
		KindHostEndpoint:              {"hostendpoint", "hostendpoints", "hep", "heps"},
		KindTier:                      {"tier", "tiers"},
		KindIPReservation:             {"ipreservation", "ipreservations", "reservation", "reservations"},
		KindProfile:                   {"profile", "profiles", "pro", "pros"},
		KindStagedGlobalNetworkPolicy: {"stagedglobalnetworkpolicy", "stagedglobalnetworkpolicies", "sgnp", "sgnps"},
	}
	for kind, names := range want {
		for _, n := range names {
			k, err := Lookup(n)
			if err != nil || k.Kind != kind {
				t.Errorf("%s: got %v, %v; want %s", n, k, err, kind)
			}
		}
	}
}
