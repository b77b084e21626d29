package calc

import (
	"github.com/calico-docker/calico-libnetwork/internal/seeds"
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func mustDecode(t *testing.T, y string) []resources.Resource {
	t.Helper()
	objs, err := resources.DecodeBytes([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := o.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	return objs
}

func wep(name, ip string, profiles []string, labels map[string]string) *resources.WorkloadEndpoint {
	w := resources.NewWorkloadEndpoint(name)
	w.Spec.Node, w.Spec.InterfaceName = "host1", "cali"+name
	w.Spec.IPNetworks = []string{ip + "/32"}
	w.Spec.Profiles = profiles
	w.Labels = labels
	return w
}

func buildModel(t *testing.T, yamls string, weps ...*resources.WorkloadEndpoint) *Model {
	m := NewModel()
	var ups []model.Update
	if yamls != "" {
		for _, o := range mustDecode(t, yamls) {
			ups = append(ups, model.UpdateOf(o))
		}
	}
	for _, w := range weps {
		ups = append(ups, model.UpdateOf(w))
	}
	m.Apply(model.SyncEvent{Full: true, Updates: ups})
	return m
}

const netProfile = `apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: net1}
spec:
  labelsToApply: {pcn.net1: ""}
  ingress: [{action: Allow, source: {selector: "has(pcn.net1)"}}]
  egress: [{action: Allow}]
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: net2}
spec:
  labelsToApply: {pcn.net2: ""}
  ingress: [{action: Allow, source: {selector: "has(pcn.net2)"}}]
  egress: [{action: Allow}]
`

var seedPolicy = "\n" + seeds.BookstorePolicy

func tcp(src, dst string, port uint16) Packet {
	return Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Protocol: 6, SrcPort: 40000, DstPort: port, ICMPType: -1}
}

func icmp(src, dst string) Packet {
	return Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Protocol: 1, ICMPType: 8}
}

func TestVerdicts(t *testing.T) {
	bookFront := wep("bf", "10.0.0.1", []string{"net1"}, map[string]string{"biz_type": "bookstore"})
	bookServer := wep("bs", "10.0.0.2", []string{"net1"}, map[string]string{"biz_type": "bookstore", "role": "server"})
	fruitFront := wep("ff", "10.0.0.3", []string{"net1"}, map[string]string{"biz_type": "fruitstore"})
	other := wep("o", "10.0.1.1", []string{"net2"}, nil)
	weps := []*resources.WorkloadEndpoint{bookFront, bookServer, fruitFront, other}

	cases := []struct {
		name, yaml string
		pkt        Packet
		allowed    bool
		reason     string // substring of the reason
	}{
		{"same profile allowed", netProfile, tcp("10.0.0.1", "10.0.0.2", 80), true, "profile net1"},
		{"other network isolated", netProfile, tcp("10.0.1.1", "10.0.0.2", 80), false, "no profile"},
		{"host to workload denied by profile", netProfile, tcp("10.9.9.9", "10.0.0.2", 80), false, "no profile"},
		{"workload to outside allowed by egress", netProfile, tcp("10.0.0.1", "10.9.9.9", 443), true, "no workload policy"},
		{"seed: bookstore allowed", netProfile + "---" + seedPolicy, tcp("10.0.0.1", "10.0.0.2", 80), true, "allow-bookstore-cliient-to-server rule 0"},
		{"seed: fruitstore denied", netProfile + "---" + seedPolicy, tcp("10.0.0.3", "10.0.0.2", 80), false, "rule 1"},
		{"seed: other port default-deny", netProfile + "---" + seedPolicy, tcp("10.0.0.1", "10.0.0.2", 81), false, "none allowed"},
		{"seed: icmp default-deny", netProfile + "---" + seedPolicy, icmp("10.0.0.1", "10.0.0.2"), false, "none allowed"},
		{"seed: unselected endpoint falls to profile", netProfile + "---" + seedPolicy, tcp("10.0.0.2", "10.0.0.1", 80), true, "profile net1"},
		{"pass goes to profile", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: pass-all}
spec: {selector: all(), ingress: [{action: Pass}]}`, tcp("10.0.0.1", "10.0.0.2", 80), true, "profile net1"},
		{"pass then profile denies other net", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: pass-all}
spec: {selector: all(), ingress: [{action: Pass}]}`, tcp("10.0.1.1", "10.0.0.2", 80), false, "no profile"},
		{"order: lower deny wins", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: b-allow}
spec: {order: 200, selector: all(), ingress: [{action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: a-deny}
spec: {order: 100, selector: all(), ingress: [{action: Deny, protocol: TCP, destination: {ports: ["70:90"]}}]}`, tcp("10.0.0.1", "10.0.0.2", 80), false, "a-deny rule 0"},
		{"unset order last", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: a-unordered-deny}
spec: {selector: all(), ingress: [{action: Deny}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: z-allow}
spec: {order: 1000, selector: all(), ingress: [{action: Allow}]}`, tcp("10.0.0.1", "10.0.0.2", 80), true, "z-allow"},
		{"log continues", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: all(), ingress: [{action: Log}, {action: Allow}]}`, tcp("10.0.1.1", "10.0.0.2", 80), true, "g rule 1"},
		{"nets and notNets", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: all(), ingress: [{action: Allow, source: {nets: [10.0.0.0/24], notNets: [10.0.0.3/32]}}]}`, tcp("10.0.0.3", "10.0.0.2", 80), false, "none allowed"},
		{"notSelector", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: role == 'server', ingress: [{action: Allow, source: {notSelector: "biz_type == 'fruitstore'"}}]}`, tcp("10.0.1.1", "10.0.0.2", 80), true, "g rule 0"},
		{"notPorts", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: all(), ingress: [{action: Allow, protocol: TCP, destination: {notPorts: [22]}}]}`, tcp("10.0.0.1", "10.0.0.2", 22), false, "none allowed"},
		{"notProtocol", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: all(), ingress: [{action: Allow, notProtocol: UDP}]}`, icmp("10.0.1.1", "10.0.0.2"), true, "g rule 0"},
		{"icmp type", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: all(), ingress: [{action: Allow, protocol: ICMP, icmp: {type: 0}}]}`, icmp("10.0.1.1", "10.0.0.2"), false, "none allowed"},
		{"egress policy denies before ingress", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: biz_type == 'fruitstore', types: [Egress], egress: [{action: Deny}]}`, tcp("10.0.0.3", "10.0.0.2", 80), false, "egress denied by policy"},
		{"egress-only policy leaves ingress to profile", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: all(), types: [Egress], egress: [{action: Allow}]}`, tcp("10.0.1.1", "10.0.0.2", 80), false, "no profile"},
		{"profile labelsToApply selects", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: has(pcn.net2), egress: [{action: Deny, protocol: TCP}], types: [Egress]}`, tcp("10.0.1.1", "10.0.0.2", 80), false, "egress denied"},
		{"ipVersion 6 rule skips v4", netProfile + `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: g}
spec: {selector: all(), ingress: [{action: Allow, ipVersion: 6}]}`, tcp("10.0.0.1", "10.0.0.2", 80), false, "none allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := buildModel(t, tc.yaml, weps...)
			res := m.Verdict(tc.pkt)
			if res.Allowed != tc.allowed || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("verdict = %v (%s), want %v containing %q; steps %v", res.Allowed, res.Reason, tc.allowed, tc.reason, res.Steps)
			}
		})
	}
}

func TestOrderingAndSets(t *testing.T) {
	m := buildModel(t, netProfile+`---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: b}
spec: {order: 10, selector: all(), ingress: [{action: Allow, source: {selector: "biz_type == 'bookstore'"}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: a}
spec: {order: 10, selector: all(), ingress: [{action: Allow, source: {selector: 'biz_type=="bookstore"'}}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: c}
spec: {selector: all(), ingress: [{action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: d}
spec: {order: 1, selector: all(), ingress: [{action: Allow}]}
`, wep("x", "10.0.0.1", []string{"net1"}, map[string]string{"biz_type": "bookstore"}), wep("y", "10.0.0.2", nil, nil))
	var keys []string
	for _, p := range m.PoliciesFor(m.Endpoint("default/x"), Ingress) {
		keys = append(keys, p.Key)
	}
	want := "GlobalNetworkPolicy/d,GlobalNetworkPolicy/a,GlobalNetworkPolicy/b,GlobalNetworkPolicy/c"
	if strings.Join(keys, ",") != want {
		t.Fatalf("order = %v, want %s", keys, want)
	}
	sets := m.SelectorsInUse()
	// Two spellings of one selector share a set, plus has(pcn.net1), has(pcn.net2).
	if len(sets) != 3 {
		t.Fatalf("selectors in use = %d, want 3: %v", len(sets), sets)
	}
	for _, s := range sets {
		if s.String() == `biz_type == "bookstore"` {
			if got := m.Members(s); len(got) != 1 || got[0].String() != "10.0.0.1/32" {
				t.Fatalf("members = %v", got)
			}
		}
	}
	// Relabel through a profile change.
	m.Update(model.Update{Kind: resources.KindProfile, Name: "net1"})
	if _, ok := m.Endpoint("default/x").Labels["pcn.net1"]; ok {
		t.Fatal("profile label kept after profile deleted")
	}
}
