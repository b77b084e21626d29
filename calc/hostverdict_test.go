package calc

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// hepModel: host h1's eth0 is a host endpoint (role: worker); w is a
// workload of h1.
func hepModel(t *testing.T, policies ...string) *Model {
	objs := append([]string{
		"kind: HostEndpoint\nmetadata: {name: h1-eth0, labels: {role: worker}}\nspec: {node: h1, interfaceName: eth0, expectedIPs: [192.168.1.1]}\n",
	}, policies...)
	w := wep("w", "10.65.0.1", nil, map[string]string{"app": "web"})
	w.Spec.Node = "h1"
	return buildModel(t, doc(objs...), w)
}

func tcpPkt(src, dst string, sport, dport uint16) Packet {
	return Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Protocol: 6, SrcPort: sport, DstPort: dport, ICMPType: -1}
}

// TestPathVerdictHostEndpoint traces packets into, out of and through a
// host endpoint in the dataplane's order.
func TestPathVerdictHostEndpoint(t *testing.T) {
	const remote, host, wl = "192.168.1.2", "192.168.1.1", "10.65.0.1"
	allowWeb := gnp("allow-web", "selector: role == 'worker', ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]")
	untracked := gnp("untracked", "order: 1, selector: role == 'worker', doNotTrack: true, applyOnForward: true, ingress: [{action: Allow, protocol: TCP, destination: {ports: [8080]}}], egress: [{action: Allow}]")
	untrackedDeny := gnp("untracked-deny", "order: 2, selector: role == 'worker', doNotTrack: true, applyOnForward: true, ingress: [{action: Deny, protocol: TCP, destination: {ports: [22, 9090]}}]")
	preDNAT := gnp("pre", "selector: role == 'worker', preDNAT: true, applyOnForward: true, ingress: [{action: Allow, protocol: TCP, destination: {ports: [81]}}]")
	fwd := gnp("fwd", "selector: role == 'worker', applyOnForward: true, ingress: [{action: Allow, protocol: TCP, destination: {ports: [443]}}]")
	m := hepModel(t, allowWeb, untracked, untrackedDeny, preDNAT, fwd)
	h := m.HostEndpoint("h1-eth0")
	into := []Hop{{Node: "h1", In: h, ToHost: true}}
	outOf := []Hop{{Node: "h1", Out: h, FromHost: true}}
	toWL := []Hop{{Node: "h1", In: h, To: m.Endpoint("default/w")}}
	for _, tc := range []struct {
		name  string
		pkt   Packet
		hops  []Hop
		allow bool
		want  string // in the reason
		steps string // in the steps
	}{
		{"normal allow", tcpPkt(remote, host, 1000, 80), into, true, "ingress (normal, hostendpoint/h1-eth0) allowed by policy GlobalNetworkPolicy/allow-web rule 0", ""},
		{"normal end of tier", tcpPkt(remote, host, 1000, 8443), into, false, "policies select hostendpoint/h1-eth0 and none allowed", ""},
		{"untracked allow skips normal", tcpPkt(remote, host, 1000, 8080), into, true, "doNotTrack", ""},
		{"untracked deny", tcpPkt(remote, host, 1000, 9090), into, false, "denied by policy GlobalNetworkPolicy/untracked-deny", ""},
		{"failsafe before untracked deny", tcpPkt(remote, host, 1000, 22), into, true, "allowed before policy: failsafe tcp:22", "failsafe tcp:22"},
		{"preDNAT allow", tcpPkt(remote, host, 1000, 81), into, true, "preDNAT", ""},
		{"egress: untracked allow", tcpPkt(host, remote, 1000, 5000), outOf, true, "egress (doNotTrack", ""},
		{"forward: applyOnForward allows, then the workload's profile-less deny", tcpPkt(remote, wl, 1000, 443), toWL, false, "no profile of default/w", "applyOnForward"},
		{"forward: applyOnForward end of tier", tcpPkt(remote, wl, 1000, 444), toWL, false, "policies select hostendpoint/h1-eth0", ""},
		{"forward: untracked allow skips applyOnForward", tcpPkt(remote, wl, 1000, 8080), toWL, false, "no profile of default/w", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := m.PathVerdict(tc.pkt, tc.hops, false)
			var steps []string
			for _, s := range res.Steps {
				steps = append(steps, s.String())
			}
			if res.Allowed != tc.allow || !strings.Contains(res.Reason, tc.want) || !strings.Contains(strings.Join(steps, "\n"), tc.steps) {
				t.Errorf("allowed=%v %q; want %v %q; steps:\n%s", res.Allowed, res.Reason, tc.allow, tc.want, strings.Join(steps, "\n"))
			}
		})
	}
}

// TestPathVerdictDefaults: a host endpoint without policy or profile
// denies all but the failsafe ports (Calico's defaults, or configured),
// the tunnel peers' packets and, forwarded, nothing.
func TestPathVerdictDefaults(t *testing.T) {
	m := hepModel(t)
	h := m.HostEndpoint("h1-eth0")
	into := []Hop{{Node: "h1", In: h, ToHost: true}}
	if r := m.PathVerdict(tcpPkt("192.168.1.2", "192.168.1.1", 1, 8080), into, false); r.Allowed || !strings.Contains(r.Reason, "default deny") {
		t.Errorf("no policy: %+v", r)
	}
	if r := m.PathVerdict(tcpPkt("192.168.1.2", "192.168.1.1", 1, 22), into, false); !r.Allowed {
		t.Errorf("default failsafe ssh: %+v", r)
	}
	into[0].Settings.Failsafe = FailsafeConfig{FailsafeInbound: []resources.ProtoPort{{Protocol: "tcp", Port: 2222, Net: "192.168.1.0/24"}}}
	if r := m.PathVerdict(tcpPkt("192.168.1.2", "192.168.1.1", 1, 22), into, false); r.Allowed {
		t.Errorf("configured failsafe replaces the defaults: %+v", r)
	}
	if r := m.PathVerdict(tcpPkt("192.168.1.2", "192.168.1.1", 1, 2222), into, false); !r.Allowed {
		t.Errorf("configured failsafe from its net: %+v", r)
	}
	if r := m.PathVerdict(tcpPkt("192.168.2.2", "192.168.1.1", 1, 2222), into, false); r.Allowed {
		t.Errorf("configured failsafe from another net: %+v", r)
	}
	into[0].Settings.Tunnels = TunnelPeers{VXLANPort: 4789, VXLANPeers: []netip.Addr{netip.MustParseAddr("192.168.1.2")}}
	vx := Packet{Src: netip.MustParseAddr("192.168.1.2"), Dst: netip.MustParseAddr("192.168.1.1"), Protocol: 17, SrcPort: 1, DstPort: 4789, ICMPType: -1}
	if r := m.PathVerdict(vx, into, false); !r.Allowed || r.Steps[0].Kind != "tunnel peer" {
		t.Errorf("tunnel peer: %+v", r)
	}
	vx.Src = netip.MustParseAddr("192.168.1.3")
	if r := m.PathVerdict(vx, into, false); r.Allowed {
		t.Errorf("not a tunnel peer: %+v", r)
	}
	fwd := []Hop{{Node: "h1", In: h, Out: nil}}
	if r := m.PathVerdict(tcpPkt("192.168.1.2", "198.51.100.1", 1, 80), fwd, false); !r.Allowed || !strings.Contains(r.Reason, "other FORWARD rules") {
		t.Errorf("forwarded without applyOnForward policy: %+v", r)
	}
	if r := m.PathVerdict(tcpPkt("192.168.1.1", "10.65.0.1", 1, 80), []Hop{{Node: "h1", Out: h, FromHost: true, To: m.Endpoint("default/w")}}, false); !r.Allowed {
		t.Errorf("host to its own workload: %+v", r)
	}
}

// TestPathVerdictStaged: a staged Deny changes PathVerdict only with
// staged.
func TestPathVerdictStaged(t *testing.T) {
	m := hepModel(t, gnp("allow-web", "selector: role == 'worker', ingress: [{action: Allow}]"),
		"kind: StagedGlobalNetworkPolicy\nmetadata: {name: deny}\nspec: {order: 1, selector: role == 'worker', ingress: [{action: Deny}]}\n")
	hops := []Hop{{Node: "h1", In: m.HostEndpoint("h1-eth0"), ToHost: true}}
	pkt := tcpPkt("192.168.1.2", "192.168.1.1", 1, 80)
	if r := m.PathVerdict(pkt, hops, false); !r.Allowed {
		t.Errorf("enforced: %+v", r)
	}
	if r := m.PathVerdict(pkt, hops, true); r.Allowed || !strings.Contains(r.Reason, "StagedGlobalNetworkPolicy/deny") {
		t.Errorf("staged: %+v", r)
	}
}

func TestHostEndpointOn(t *testing.T) {
	m := hepModel(t, "kind: HostEndpoint\nmetadata: {name: h1-all}\nspec: {node: h1, interfaceName: '*'}\n")
	if h := m.HostEndpointOn("h1", "eth0"); h == nil || h.Name != "h1-eth0" {
		t.Errorf("eth0: %v", h)
	}
	if h := m.HostEndpointOn("h1", "eth1"); h == nil || h.Name != "h1-all" {
		t.Errorf("eth1: %v", h)
	}
	if h := m.HostEndpointOn("h2", "eth0"); h != nil {
		t.Errorf("other node: %v", h)
	}
}

// TestHops: which host endpoints a flow between two parties meets.
func TestHops(t *testing.T) {
	m := hepModel(t, "kind: HostEndpoint\nmetadata: {name: h2-all}\nspec: {node: h2, interfaceName: '*'}\n")
	w2 := wep("w2", "10.65.1.1", nil, nil)
	w2.Spec.Node = "h2"
	m.Update(model.UpdateOf(w2))
	h1, h2 := m.HostEndpoint("h1-eth0"), m.HostEndpoint("h2-all")
	w, wOther := Party{Workload: m.Endpoint("default/w")}, Party{Workload: m.Endpoint("default/w2")}
	plain := func(string) HostSettings { return HostSettings{} }
	tunnelled := func(string) HostSettings {
		return HostSettings{Tunnels: TunnelPeers{VXLANPort: 4789, VXLANPeers: []netip.Addr{netip.MustParseAddr("192.168.1.2")}}}
	}
	for _, tc := range []struct {
		name     string
		from, to Party
		settings func(string) HostSettings
		want     []Hop // Node, In, Out, FromHost, ToHost only
	}{
		{"workload out: its host's only host endpoint", w, Party{}, plain, []Hop{{Node: "h1", Out: h1}}},
		{"into a host endpoint", Party{}, Party{Host: h2}, plain, []Hop{{Node: "h2", In: h2, ToHost: true}}},
		{"workloads of two hosts, routed", w, wOther, plain, []Hop{{Node: "h1", Out: h1}, {Node: "h2", In: h2}}},
		{"workloads of two hosts, tunnelled: only *", w, wOther, tunnelled, []Hop{{Node: "h1"}, {Node: "h2", In: h2}}},
		{"host endpoint to a workload of its host", Party{Host: h1}, w, plain, []Hop{{Node: "h1", FromHost: true}}},
	} {
		got := m.Hops(tc.from, tc.to, tc.settings)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d hops, want %d", tc.name, len(got), len(tc.want))
			continue
		}
		for i, h := range got {
			wt := tc.want[i]
			if h.Node != wt.Node || h.In != wt.In || h.Out != wt.Out || h.FromHost != wt.FromHost || h.ToHost != wt.ToHost {
				t.Errorf("%s: hop %d = %+v, want %+v", tc.name, i, h, wt)
			}
		}
	}
}

// TestPathVerdictProfilesAndND: a host endpoint's profiles decide after
// its policies; IPv6 neighbour discovery is accepted before policy.
func TestPathVerdictProfilesAndND(t *testing.T) {
	m := buildModel(t, doc(
		"kind: Profile\nmetadata: {name: ssh-in}\nspec: {ingress: [{action: Allow, protocol: TCP, destination: {ports: [2022]}}]}\n",
		"kind: HostEndpoint\nmetadata: {name: h}\nspec: {node: h1, interfaceName: eth0, profiles: [ssh-in], expectedIPs: ['fd00::1']}\n",
	))
	into := []Hop{{Node: "h1", In: m.HostEndpoint("h"), ToHost: true}}
	if r := m.PathVerdict(tcpPkt("fd00::2", "fd00::1", 1, 2022), into, false); !r.Allowed || !strings.Contains(r.Reason, "profile ssh-in rule 0") {
		t.Errorf("profile: %+v", r)
	}
	if r := m.PathVerdict(tcpPkt("fd00::2", "fd00::1", 1, 2023), into, false); r.Allowed || !strings.Contains(r.Reason, "no profile of hostendpoint/h") {
		t.Errorf("profile, other port: %+v", r)
	}
	ns := Packet{Src: netip.MustParseAddr("fd00::2"), Dst: netip.MustParseAddr("fd00::1"), Protocol: 58, ICMPType: 135}
	if r := m.PathVerdict(ns, into, false); !r.Allowed || r.Steps[0].Kind != "neighbour discovery" {
		t.Errorf("neighbour solicitation: %+v", r)
	}
}
