package rules

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/resources"
)

const hepDocs = `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: h1-eth0, labels: {role: k8s-worker}}
spec: {node: h1, interfaceName: eth0, expectedIPs: [10.0.0.1]}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: h1-all, labels: {role: any}}
spec: {node: h1, interfaceName: "*"}
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: h1-workload, labels: {role: k8s-worker}}
spec: {node: h1, interfaceName: cali1234}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: k8s-worker}
spec:
  selector: role == 'k8s-worker'
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [10250]}}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: fwd}
spec:
  selector: role == 'k8s-worker'
  applyOnForward: true
  ingress: [{action: Deny, protocol: UDP}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked}
spec:
  selector: all()
  applyOnForward: true
  doNotTrack: true
  ingress: [{action: Allow, source: {selector: role == 'k8s-worker'}}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: prednat}
spec:
  selector: all()
  applyOnForward: true
  preDNAT: true
  ingress: [{action: Deny, protocol: TCP, destination: {ports: [30000]}}]
`

func render(t *testing.T, cfg Config) Result {
	t.Helper()
	cfg.IPVersion = 4
	return Render(buildModel(t, hepDocs), "h1", cfg)
}

func chainOf(tbl Table, name string) []ipt.Rule {
	for _, c := range tbl.Chains {
		if c.Name == name {
			return c.Rules
		}
	}
	return nil
}

func has(rules []ipt.Rule, match, action string) bool {
	return slices.ContainsFunc(rules, func(r ipt.Rule) bool {
		return strings.Contains(r.Match, match) && strings.Contains(r.Action, action)
	})
}

func TestHostEndpointFilter(t *testing.T) {
	res := render(t, Config{})
	from := chain(res, ChainFromHostEndpoint)
	want := []ipt.Rule{
		{Match: "-i eth0 -g cali-fh-eth0"}, {Match: "-i cali+", Action: "RETURN"}, {Match: "-i lo", Action: "RETURN"},
		{Match: "-g " + HostEndpointChain("fh", "*")},
	}
	if !slices.Equal(from, want) {
		t.Errorf("dispatch (named first, * last, never cali1234):\n got %v\nwant %v", from, want)
	}
	fh := chain(res, "cali-fh-eth0")
	if len(fh) < 5 || fh[2].Action != ChainFailsafeIn || fh[len(fh)-1].Action != "ACCEPT" {
		t.Fatalf("cali-fh-eth0: want conntrack, failsafe, group, ACCEPT: %v", fh)
	}
	if !has(chain(res, ChainFailsafeIn), "-p tcp -m tcp --dport 22", "ACCEPT") ||
		!has(chain(res, ChainFailsafeOut), "-p udp -m udp --dport 53", "ACCEPT") {
		t.Errorf("Calico's default failsafe ports missing: %v %v", chain(res, ChainFailsafeIn), chain(res, ChainFailsafeOut))
	}
	// The all-interfaces endpoint has no policy and no profile: its group
	// chain drops everything but what the failsafe chain accepted.
	all := chain(res, HostEndpointChain("fh", "*"))
	group := chain(res, all[3].Action)
	if group[len(group)-1].Action != "DROP" || has(group, "", "cali-p") {
		t.Errorf("* endpoint: want default deny, got %v", group)
	}
	fwd := chain(res, ChainForward)
	i := slices.IndexFunc(fwd, func(r ipt.Rule) bool { return r.Action == ChainHostForward })
	j := slices.IndexFunc(fwd, func(r ipt.Rule) bool { return r.Action == ChainFromDispatch })
	if i < 0 || i > j || !has(fwd[len(fwd)-1:], "--mark 0x10000/0x10000", "ACCEPT") {
		t.Errorf("cali-FORWARD: want host endpoint forward policy before the workloads', accept by mark last: %v", fwd)
	}
	// applyOnForward policy only in the forward chain; the normal one in both.
	fhfw := chain(res, "cali-fhfw-eth0")
	if !has(fhfw, "", PolicyChain("GlobalNetworkPolicy/fwd", true)) || has(fhfw, "", PolicyChain("GlobalNetworkPolicy/k8s-worker", true)) {
		t.Errorf("cali-fhfw-eth0: want only applyOnForward policy: %v", fhfw)
	}
	if !has(chain(res, PolicyChain("GlobalNetworkPolicy/fwd", true)), "-p udp", "DROP") {
		t.Error("policy chain of fwd not rendered in filter")
	}
}

func TestHostEndpointRawMangle(t *testing.T) {
	res := render(t, Config{HostEndpoints: HostEndpointConfig{FailsafeInbound: []resources.ProtoPort{{Protocol: "tcp", Port: 2222}},
		FailsafeOutbound: []resources.ProtoPort{}}})
	raw, mangle := res.Raw, res.Mangle
	if from := chainOf(raw, ChainFromHostEndpoint); len(from) != 1 {
		t.Errorf("raw dispatch: want eth0 only (no untracked policy on *): %v", from)
	}
	if fs := chainOf(raw, ChainFailsafeIn); len(fs) != 1 || fs[0].Match != "-p tcp -m tcp --dport 2222" {
		t.Errorf("raw failsafe-in: %v", fs)
	}
	if fs := chainOf(raw, ChainFailsafeOut); len(fs) != 1 || fs[0].Match != "-p tcp -m tcp --sport 2222" {
		t.Errorf("raw failsafe-out: want replies of inbound failsafe flows: %v", fs)
	}
	pre := chainOf(raw, ChainPrerouting)
	if !has(pre, "--mark 0x10000/0x10000", "NOTRACK") || raw.Inserts["PREROUTING"][0].Action != ChainPrerouting {
		t.Errorf("raw PREROUTING: %v %v", pre, raw.Inserts)
	}
	fh := chainOf(raw, "cali-fh-eth0")
	if has(fh, "", "DROP") || !has(fh, "", PolicyChain("GlobalNetworkPolicy/untracked", true)) {
		t.Errorf("raw cali-fh-eth0: want the untracked policy, no end-of-tier drop: %v", fh)
	}
	if chainOf(raw, PolicyChain("GlobalNetworkPolicy/untracked", true)) == nil {
		t.Error("untracked policy chain missing from raw")
	}
	if slices.ContainsFunc(res.Chains, func(c ipt.Chain) bool { return c.Name == PolicyChain("GlobalNetworkPolicy/untracked", true) }) {
		t.Error("untracked policy chain rendered in filter")
	}
	for _, iface := range []string{"eth0", "*"} {
		c := chainOf(mangle, HostEndpointChain("fh", iface))
		if !has(c, "", PolicyChain("GlobalNetworkPolicy/prednat", true)) || has(c, "", "DROP") {
			t.Errorf("mangle %s: want the preDNAT policy, no end-of-tier drop: %v", iface, c)
		}
	}
	if chainOf(mangle, HostEndpointChain("th", "eth0")) != nil {
		t.Error("mangle has egress chains: preDNAT is ingress only")
	}
}

func TestNoHostEndpointsNoChange(t *testing.T) {
	m := buildModel(t, seed, wep("a", "h1", "10.65.0.1", nil))
	res := Render(m, "h1", Config{IPVersion: 4})
	if len(res.Raw.Chains)+len(res.Mangle.Chains) != 0 || chain(res, ChainFromHostEndpoint) != nil {
		t.Errorf("host endpoint state without host endpoints: raw %v mangle %v", res.Raw, res.Mangle)
	}
	for _, r := range chain(res, ChainInput) {
		if strings.Contains(r.Match, "0x10000") {
			t.Errorf("cali-INPUT changed without host endpoints: %v", r)
		}
	}
}

func TestHostEndpointIPv6(t *testing.T) {
	m := buildModel(t, hepDocs)
	res := Render(m, "h1", Config{IPVersion: 6, HostEndpoints: HostEndpointConfig{
		FailsafeInbound: []resources.ProtoPort{{Protocol: "tcp", Port: 22, Net: "10.0.0.0/8"}, {Protocol: "tcp", Port: 22, Net: "fd00::/64"}}}})
	if fs := chain(res, ChainFailsafeIn); len(fs) != 1 || fs[0].Match != "-s fd00::/64 -p tcp -m tcp --dport 22" {
		t.Errorf("IPv6 failsafe-in: want the IPv6 entry only: %v", fs)
	}
	for _, c := range []string{"cali-fh-eth0", "cali-th-eth0"} {
		if !has(chain(res, c), "--icmpv6-type 135", "ACCEPT") {
			t.Errorf("%s: neighbour solicitation not accepted before policy: %v", c, chain(res, c))
		}
	}
	if has(chain(res, "cali-fhfw-eth0"), "icmpv6", "") {
		t.Error("neighbour discovery accepted on the forward path")
	}
}

func TestHostEndpointsWithoutHostSource(t *testing.T) {
	res := Render(sourceOnly{buildModel(t, hepDocs)}, "h1", Config{IPVersion: 4})
	if chain(res, ChainFromHostEndpoint) != nil || len(res.Raw.Chains) != 0 {
		t.Error("host endpoints rendered from a Source that is not a HostSource")
	}
}

// sourceOnly hides the model's HostSource methods.
type sourceOnly struct{ Source }

func TestHostEndpointByAddress(t *testing.T) {
	m := buildModel(t, `apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata: {name: by-ip}
spec: {node: h1, expectedIPs: [10.0.0.9, 10.0.0.1]}
`)
	res := Render(m, "h1", Config{IPVersion: 4})
	if chain(res, ChainFromHostEndpoint) != nil {
		t.Error("rendered without knowing the host's addresses")
	}
	res = Render(m, "h1", Config{IPVersion: 4, HostAddrs: map[netip.Addr]string{netip.MustParseAddr("10.0.0.1"): "eth1"}})
	if from := chain(res, ChainFromHostEndpoint); len(from) != 1 || from[0].Match != "-i eth1 -g cali-fh-eth1" {
		t.Errorf("dispatch = %v, want eth1 (the interface with an expected IP)", from)
	}
	if !NeedsHostAddrs(m.LocalHostEndpoints("h1")) {
		t.Error("NeedsHostAddrs = false")
	}
}

func TestHostEndpointTunnelAccepts(t *testing.T) {
	peer := netip.MustParseAddr("10.0.0.7")
	res := render(t, Config{Tunnels: TunnelPeers{VXLANPort: 4789, VXLANPeers: []netip.Addr{peer}, IPIPPeers: []netip.Addr{peer}}})
	for _, c := range []string{"cali-fh-eth0", "cali-th-eth0"} {
		rules := chain(res, c)
		if !has(rules, "--dport 4789 -m set --match-set cali40s:vxlan-peers", "ACCEPT") ||
			!has(rules, "-p 4 -m set --match-set cali40s:ipip-peers", "ACCEPT") {
			t.Errorf("%s: tunnel accepts missing: %v", c, rules)
		}
	}
	if got := res.IPSets["cali40s:vxlan-peers"]; len(got) != 1 || got[0] != netip.PrefixFrom(peer, 32) {
		t.Errorf("vxlan peers set = %v", got)
	}
	if !has(chainOf(res.Raw, "cali-fh-eth0"), "cali40s:vxlan-peers src", "ACCEPT") ||
		!has(chainOf(res.Mangle, "cali-fh-eth0"), "cali40s:vxlan-peers src", "ACCEPT") {
		t.Error("tunnel packets not accepted before untracked or pre-DNAT policy")
	}
	if has(chain(res, "cali-fhfw-eth0"), "vxlan-peers", "") {
		t.Error("tunnel accept on the forward path")
	}
}
