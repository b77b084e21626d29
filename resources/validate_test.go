package resources

import (
	"errors"
	"strings"
	"testing"
)

func ptr[T any](v T) *T { return &v }

func TestValidate(t *testing.T) {
	tcp, _ := ParseProtocol("TCP")
	icmp, _ := ParseProtocol("icmp")
	cases := []struct {
		name      string
		obj       Resource
		wantField string // "" = valid
	}{
		{"pool ok", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p1"}, Spec: IPPoolSpec{CIDR: "10.1.0.0/16"}}, ""},
		{"pool v6 ok", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p6"}, Spec: IPPoolSpec{CIDR: "fd00:10::/64"}}, ""},
		{"pool no name", &IPPool{TypeMeta: typeMeta(KindIPPool), Spec: IPPoolSpec{CIDR: "10.1.0.0/16"}}, "metadata.name"},
		{"pool upper name", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "Pool"}, Spec: IPPoolSpec{CIDR: "10.1.0.0/16"}}, "metadata.name"},
		{"pool bad cidr", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "10.1.0/16"}}, "spec.cidr"},
		{"pool host bits", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "10.1.0.1/16"}}, "spec.cidr"},
		{"pool bad mode", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "10.1.0.0/16", IPIPMode: "Sometimes"}}, "spec.ipipMode"},
		{"pool both encaps", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "10.1.0.0/16", IPIPMode: "Always", VXLANMode: "Always"}}, "spec.vxlanMode"},
		{"pool block too big", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "10.1.0.0/24", BlockSize: 22}}, "spec.blockSize"},
		{"pool block out of range", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "10.0.0.0/8", BlockSize: 12}}, "spec.blockSize"},
		{"pool v6 ipip", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "fd00::/64", IPIPMode: "Always"}}, "spec.ipipMode"},
		{"pool v4-mapped", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "::ffff:10.9.0.0/120"}}, "IPv4-mapped"},
		{"pool link-local", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "169.254.0.0/24"}}, "link-local"},
		{"pool v6 link-local", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "fe80::/64"}}, "link-local"},
		{"pool loopback", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "127.0.0.0/16"}}, "loopback"},
		{"pool multicast", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "224.1.0.0/16"}}, "multicast"},
		{"pool everything", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "0.0.0.0/0"}}, "spec.cidr"},
		{"pool bad nodeSelector", &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: "p"}, Spec: IPPoolSpec{CIDR: "10.1.0.0/16", NodeSelector: "a =="}}, "spec.nodeSelector"},
		{"profile classic name", &Profile{TypeMeta: typeMeta(KindProfile), ObjectMeta: ObjectMeta{Name: "PROF_GROUP1"}}, ""},
		{"profile bad label", &Profile{TypeMeta: typeMeta(KindProfile), ObjectMeta: ObjectMeta{Name: "p"}, Spec: ProfileSpec{LabelsToApply: map[string]string{"bad key": ""}}}, "spec.labelsToApply"},
		{"profile bad action", &Profile{TypeMeta: typeMeta(KindProfile), ObjectMeta: ObjectMeta{Name: "p"}, Spec: ProfileSpec{Ingress: []Rule{{Action: "allow"}}}}, "spec.ingress[0].action"},
		{"policy ok", &NetworkPolicy{TypeMeta: typeMeta(KindNetworkPolicy), ObjectMeta: ObjectMeta{Name: "np", Namespace: "default"}, Spec: PolicySpec{Selector: "role == 'db'", Ingress: []Rule{{Action: "Allow", Protocol: &tcp, Destination: EntityRule{Ports: []Port{{80, 80}}}}}}}, ""},
		{"policy other ns", &NetworkPolicy{TypeMeta: typeMeta(KindNetworkPolicy), ObjectMeta: ObjectMeta{Name: "np", Namespace: "prod"}}, ""},
		{"policy bad ns", &NetworkPolicy{TypeMeta: typeMeta(KindNetworkPolicy), ObjectMeta: ObjectMeta{Name: "np", Namespace: "Prod_1"}}, "metadata.namespace"},
		{"policy ports without proto", &GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: ObjectMeta{Name: "g"}, Spec: PolicySpec{Ingress: []Rule{{Action: "Allow", Destination: EntityRule{Ports: []Port{{80, 80}}}}}}}, "spec.ingress[0].destination.ports"},
		{"policy icmp without proto", &GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: ObjectMeta{Name: "g"}, Spec: PolicySpec{Ingress: []Rule{{Action: "Allow", ICMP: &ICMPMatch{Type: ptr(8)}}}}}, "spec.ingress[0].icmp"},
		{"policy icmp ok", &GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: ObjectMeta{Name: "g"}, Spec: PolicySpec{Ingress: []Rule{{Action: "Allow", Protocol: &icmp, ICMP: &ICMPMatch{Type: ptr(8), Code: ptr(0)}}}}}, ""},
		{"policy bad nets", &GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: ObjectMeta{Name: "g"}, Spec: PolicySpec{Egress: []Rule{{Action: "Deny", Destination: EntityRule{Nets: []string{"10.0.0.0/33"}}}}}}, "spec.egress[0].destination.nets[0]"},
		{"policy bad selector", &GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: ObjectMeta{Name: "g"}, Spec: PolicySpec{Selector: "role = 'x'"}}, "spec.selector"},
		{"policy bad type", &GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: ObjectMeta{Name: "g"}, Spec: PolicySpec{Types: []string{"ingress"}}}, "spec.types[0]"},
		{"policy rules without type", &GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: ObjectMeta{Name: "g"}, Spec: PolicySpec{Types: []string{"Ingress"}, Egress: []Rule{{Action: "Allow"}}}}, "spec.egress"},
		{"wep bad ip", &WorkloadEndpoint{TypeMeta: typeMeta(KindWorkloadEndpoint), ObjectMeta: ObjectMeta{Name: "w"}, Spec: WorkloadEndpointSpec{Node: "n", InterfaceName: "cali1", IPNetworks: []string{"10.0.0.0/24"}}}, "spec.ipNetworks[0]"},
		{"wep long iface", &WorkloadEndpoint{TypeMeta: typeMeta(KindWorkloadEndpoint), ObjectMeta: ObjectMeta{Name: "w"}, Spec: WorkloadEndpointSpec{Node: "n", InterfaceName: "cali0123456789abc"}}, "spec.interfaceName"},
		{"wep bad mac", &WorkloadEndpoint{TypeMeta: typeMeta(KindWorkloadEndpoint), ObjectMeta: ObjectMeta{Name: "w"}, Spec: WorkloadEndpointSpec{Node: "n", InterfaceName: "cali1", MAC: "zz"}}, "spec.mac"},
		{"node ok", &Node{TypeMeta: typeMeta(KindNode), ObjectMeta: ObjectMeta{Name: "host1"}, Spec: NodeSpec{BGP: &NodeBGPSpec{IPv4Address: "10.0.0.1/24"}}}, ""},
		{"node wrong family", &Node{TypeMeta: typeMeta(KindNode), ObjectMeta: ObjectMeta{Name: "host1"}, Spec: NodeSpec{BGP: &NodeBGPSpec{IPv4Address: "fd00::1/64"}}}, "spec.bgp.ipv4Address"},
		{"peer needs asn", &BGPPeer{TypeMeta: typeMeta(KindBGPPeer), ObjectMeta: ObjectMeta{Name: "rr"}, Spec: BGPPeerSpec{PeerIP: "10.0.0.9"}}, "spec.asNumber"},
		{"peer bad ip", &BGPPeer{TypeMeta: typeMeta(KindBGPPeer), ObjectMeta: ObjectMeta{Name: "rr"}, Spec: BGPPeerSpec{PeerIP: "10.0.0", ASNumber: 64511}}, "spec.peerIP"},
		{"bgpconfig bad severity", &BGPConfiguration{TypeMeta: typeMeta(KindBGPConfiguration), ObjectMeta: ObjectMeta{Name: "default"}, Spec: BGPConfigurationSpec{LogSeverityScreen: "loud"}}, "spec.logSeverityScreen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.obj.Default()
			err := tc.obj.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error on %s, got none", tc.wantField)
			}
			if !IsValidationError(err) {
				t.Fatalf("error %v is not a validation error", err)
			}
			if !strings.Contains(err.Error(), tc.wantField) {
				t.Fatalf("error %q does not name field %s", err, tc.wantField)
			}
		})
	}
}

func TestPolicyTypesDefault(t *testing.T) {
	p := NewGlobalNetworkPolicy("g")
	p.Default()
	if len(p.Spec.Types) != 1 || p.Spec.Types[0] != PolicyTypeIngress {
		t.Fatalf("types = %v, want [Ingress]", p.Spec.Types)
	}
	p = NewGlobalNetworkPolicy("g")
	p.Spec.Egress = []Rule{{Action: ActionAllow}}
	p.Default()
	if len(p.Spec.Types) != 1 || p.Spec.Types[0] != PolicyTypeEgress {
		t.Fatalf("types = %v, want [Egress] (Calico: egress rules only means Egress)", p.Spec.Types)
	}
	p = NewGlobalNetworkPolicy("g")
	p.Spec.Ingress = []Rule{{Action: ActionAllow}}
	p.Spec.Egress = []Rule{{Action: ActionAllow}}
	p.Default()
	if len(p.Spec.Types) != 2 {
		t.Fatalf("types = %v, want [Ingress Egress]", p.Spec.Types)
	}
}

func TestPortsAndProtocols(t *testing.T) {
	for _, s := range []string{"80", "0", "65535", "1000:2000"} {
		if _, err := ParsePort(s); err != nil {
			t.Errorf("ParsePort(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "http", "70000", "2000:1000", "-1", "1:2:3"} {
		if _, err := ParsePort(s); err == nil {
			t.Errorf("ParsePort(%q): want error", s)
		}
	}
	for s, n := range map[string]uint8{"tcp": 6, "UDP": 17, "icmpv6": 58, "99": 99, "SCTP": 132} {
		p, err := ParseProtocol(s)
		if err != nil || p.Number != n {
			t.Errorf("ParseProtocol(%q) = %v, %v; want %d", s, p, err, n)
		}
	}
	if _, err := ParseProtocol("0"); err == nil {
		t.Error("protocol 0 accepted")
	}
}

func TestLookup(t *testing.T) {
	for alias, want := range map[string]string{"ippool": KindIPPool, "pools": KindIPPool, "GNP": KindGlobalNetworkPolicy, "networkpolicies": KindNetworkPolicy, "wep": KindWorkloadEndpoint, "BGPPeer": KindBGPPeer} {
		k, err := Lookup(alias)
		if err != nil || k.Kind != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", alias, k, err, want)
		}
	}
	if _, err := Lookup("pod"); err == nil {
		t.Error("Lookup(pod): want error")
	}
}

func TestFieldErrorMessage(t *testing.T) {
	p := NewIPPool("p1")
	p.Spec.CIDR = "nope"
	err := p.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("want *FieldError, got %T", err)
	}
	want := `IPPool "p1": spec.cidr (nope): is not a valid CIDR`
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %q, want prefix %q", err, want)
	}
}
