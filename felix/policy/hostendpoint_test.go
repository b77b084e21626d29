package policy_test

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// docExample reads one of Calico's documentation examples kept as
// resources' test data.
func docExample(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "resources", "testdata", "calico-docs", file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// denyAllHost denies everything to and from host endpoints labelled
// role: k8s-worker (never workloads: they have no such label).
const denyAllHost = `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: deny-all-host}
spec:
  selector: role == 'k8s-worker'
  types: [Ingress, Egress]
  ingress: [{action: Deny}]
  egress: [{action: Deny}]
`

// TestHostEndpointProtection protects the host's hep0 with the host
// endpoint of Calico's "protect hosts" guide and its k8s-worker policy:
// without policy everything but the failsafe ports is denied both ways;
// with the guide's policy its ports open; with a deny-all policy the
// failsafe port (tcp 22) stays open. Nothing changes before the host
// endpoint exists: Calico polices only interfaces it was told about.
func TestHostEndpointProtection(t *testing.T) { eachDataplane(t, testHostEndpointProtection) }

func testHostEndpointProtection(t *testing.T, cfg felix.Config) {
	cfg.Policy = true
	b := newBed(t, cfg)
	remote := b.addRemote()
	in := func(name string, port uint16, want bool) hepProbe {
		return hepProbe{name: name, from: remote, src: remoteAddr, dst: hostHEP, port: port, want: want}
	}
	out := func(name string, port uint16, want bool) hepProbe {
		return hepProbe{name: name, from: b.host, src: hostHEP, dst: remoteAddr, port: port, want: want}
	}
	b.hepCheck(in("no host endpoint", 8080, true), out("no host endpoint, out", 8080, true))

	b.put(hostEndpoint("my-host-eth0", hepIface, map[string]string{"role": "k8s-worker", "environment": "production"},
		hostHEP.String()))
	b.hepCheck(in("no policy: denied", 8080, false), in("no policy: failsafe ssh", 22, true),
		out("no policy, out: denied", 8080, false), out("no policy, out: failsafe bgp", 179, true))

	b.setPolicies(docExample(t, "protect-hosts-policy.yaml"))
	b.hepCheck(in("kubelet allowed", 10250, true), in("ssh from 192.168.100.0/24", 22, true),
		in("other port denied", 8080, false), out("egress not allowed", 8080, false))

	b.setPolicies(denyAllHost)
	b.hepCheck(in("deny-all: failsafe ssh", 22, true), in("deny-all", 10250, false),
		out("deny-all, out: failsafe bgp", 179, true), out("deny-all, out", 8080, false))

	b.remove(b.store[resources.KindHostEndpoint+"//my-host-eth0"])
	b.hepCheck(in("host endpoint removed", 8080, true), out("host endpoint removed, out", 8080, true))
	if left := b.hostTablesLeft(); left != "" {
		t.Errorf("raw/mangle rules left after the last host endpoint went:\n%s", left)
	}
}

// TestHostEndpointFailsafeConfig: configured failsafe ports replace
// Calico's defaults (here: only tcp 10250 in, none out).
func TestHostEndpointFailsafeConfig(t *testing.T) { eachDataplane(t, testHostEndpointFailsafeConfig) }

func testHostEndpointFailsafeConfig(t *testing.T, cfg felix.Config) {
	cfg.Policy, cfg.HostEndpoints = true, felix.HostEndpointConfig{
		FailsafeInbound: []resources.ProtoPort{{Protocol: "tcp", Port: 10250}}, FailsafeOutbound: []resources.ProtoPort{}}
	b := newBed(t, cfg)
	remote := b.addRemote()
	b.put(hostEndpoint("h", hepIface, map[string]string{"role": "k8s-worker"}))
	b.setPolicies(denyAllHost)
	b.hepCheck(
		hepProbe{name: "configured failsafe", from: remote, src: remoteAddr, dst: hostHEP, port: 10250, want: true},
		hepProbe{name: "default failsafe no more", from: remote, src: remoteAddr, dst: hostHEP, port: 22, want: false},
		hepProbe{name: "no outbound failsafe", from: b.host, src: hostHEP, dst: remoteAddr, port: 179, want: false})
}

// TestHostEndpointDoNotTrack applies Calico's doNotTrack example
// (memcached-server) to the host: the client, another host's endpoint
// (its expectedIPs fill the rule selector's IP set), reaches port 12211
// without connection tracking; the rest stays denied, failsafe open.
// It runs on both dataplanes, the iptables one on both iptables backends:
// raw and mangle differ most between them.
func TestHostEndpointDoNotTrack(t *testing.T) {
	eachDataplane(t, func(t *testing.T, cfg felix.Config) {
		if cfg.Dataplane == felix.DataplaneNftables {
			testDoNotTrack(t, cfg)
			return
		}
		for _, backend := range []iptables.Backend{iptables.BackendNFT, iptables.BackendLegacy} {
			cfg.IptablesBackend = backend
			t.Run(string(backend), func(t *testing.T) { testDoNotTrack(t, cfg) })
		}
	})
}

func testDoNotTrack(t *testing.T, cfg felix.Config) {
	cfg.Policy = true
	b := newBed(t, cfg)
	remote := b.addRemote()
	client := hostEndpoint("client", "eth0", map[string]string{"role": "memcached-client"}, remoteAddr.String())
	client.Spec.Node = "other-host"
	b.put(client, hostEndpoint("server", hepIface, map[string]string{"role": "memcached-server"}, hostHEP.String()))
	b.setPolicies(docExample(t, "donottrack-policy.yaml"))
	before := b.notracked()
	in := func(name string, port uint16, want bool) hepProbe {
		return hepProbe{name: name, from: remote, src: remoteAddr, dst: hostHEP, port: port, want: want}
	}
	b.hepCheck(in("memcached, untracked", 12211, true), in("other port", 8080, false), in("failsafe ssh", 22, true))
	if after := b.notracked(); after <= before {
		t.Errorf("NOTRACK counter %d -> %d: the allowed flow was tracked", before, after)
	}
	// Someone flushes the raw and mangle PREROUTING chains: the resync
	// puts our jumps back.
	b.flushPrerouting()
	felixtest.Eventually(t, converge, "raw and mangle repaired", b.preroutingJumps)
	b.hepCheck(in("memcached after repair", 12211, true))
}

// TestHostEndpointPreDNAT applies Calico's pre-DNAT example
// (allow-cluster-internal-ingress) with a lower-priority deny, as Calico's
// guide pairs them: traffic from the cluster's networks reaches the host
// and a local workload; from outside both are denied before DNAT and
// routing, whatever the destination; failsafe ports stay open.
func TestHostEndpointPreDNAT(t *testing.T) { eachDataplane(t, testHostEndpointPreDNAT) }

func testHostEndpointPreDNAT(t *testing.T, cfg felix.Config) {
	cfg.Policy = true
	b := newBed(t, cfg, decode(t, allowAll)...)
	remote := b.addRemote()
	w := b.addWorkload("w", 1, []string{"calico"}, nil)
	b.put(hostEndpoint("h", hepIface, map[string]string{"host-endpoint": ""}))
	b.setPolicies(docExample(t, "prednat-policy.yaml") + `
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: drop-other-ingress}
spec:
  order: 20
  preDNAT: true
  applyOnForward: true
  ingress: [{action: Deny}]
  selector: has(host-endpoint)
`)
	b.hepCheck(
		hepProbe{name: "cluster to workload", from: remote, src: remoteAddr, dst: w.V4, port: 8080, want: true},
		hepProbe{name: "outside to workload", from: remote, src: outsideAddr, dst: w.V4, port: 8080, want: false},
		// Allowed pre-DNAT: normal policy (none: deny) is skipped.
		hepProbe{name: "cluster to host", from: remote, src: remoteAddr, dst: hostHEP, port: 8080, want: true},
		hepProbe{name: "outside to host", from: remote, src: outsideAddr, dst: hostHEP, port: 8080, want: false},
		hepProbe{name: "outside, failsafe ssh", from: remote, src: outsideAddr, dst: hostHEP, port: 22, want: true})
}

// TestHostEndpointApplyOnForward uses the all-interfaces host endpoint
// ("*"): an applyOnForward policy polices traffic forwarded to workloads
// and to the host itself; without applyOnForward it polices only the
// host's own traffic. Workload-to-workload traffic is never affected.
func TestHostEndpointApplyOnForward(t *testing.T) { eachDataplane(t, testHostEndpointApplyOnForward) }

func testHostEndpointApplyOnForward(t *testing.T, cfg felix.Config) {
	cfg.Policy = true
	b := newBed(t, cfg, decode(t, allowAll)...)
	remote := b.addRemote()
	w := b.addWorkload("w", 1, []string{"calico"}, nil)
	b.addWorkload("w2", 2, []string{"calico"}, nil)
	b.put(hostEndpoint("all", "*", map[string]string{"host-endpoint": ""}))
	web := func(applyOnForward bool) string {
		aof := "false"
		if applyOnForward {
			aof = "true"
		}
		return `
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  selector: has(host-endpoint)
  applyOnForward: ` + aof + `
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]
`
	}
	toWL := func(name string, port uint16, want bool) hepProbe {
		return hepProbe{name: name, from: remote, src: remoteAddr, dst: w.V4, port: port, want: want}
	}
	toHost := func(name string, port uint16, want bool) hepProbe {
		return hepProbe{name: name, from: remote, src: remoteAddr, dst: hostHEP, port: port, want: want}
	}
	b.setPolicies(web(true))
	b.hepCheck(toWL("forwarded, allowed", 80, true), toWL("forwarded, denied", 8080, false),
		toHost("host, allowed", 80, true), toHost("host, denied", 8080, false), toHost("host, failsafe", 22, true),
		hepProbe{name: "workload out, no egress policy", from: w.NS, src: w.V4, dst: remoteAddr, port: 8080, want: true},
		hepProbe{name: "host out, no egress policy: denied", from: b.host, src: hostHEP, dst: remoteAddr, port: 8080, want: false})
	b.check(tcp("w", "w2", 8080, true), tcp("w2", "w", 9090, true))

	b.setPolicies(web(false))
	b.hepCheck(toWL("forwarded, not policed", 8080, true), toHost("host, still denied", 8080, false),
		toHost("host, allowed", 80, true))
	b.check(tcp("w", "w2", 8080, true))
}

// TestHostEndpointByExpectedIPs: a host endpoint without interfaceName
// protects the interface that has one of its expectedIPs, as in Calico.
func TestHostEndpointByExpectedIPs(t *testing.T) { eachDataplane(t, testHostEndpointByExpectedIPs) }

func testHostEndpointByExpectedIPs(t *testing.T, cfg felix.Config) {
	cfg.Policy = true
	b := newBed(t, cfg)
	remote := b.addRemote()
	b.put(hostEndpoint("by-ip", "", map[string]string{"role": "k8s-worker"}, "192.0.2.99", hostHEP.String()))
	b.setPolicies(denyAllHost)
	in := func(name string, port uint16, want bool) hepProbe {
		return hepProbe{name: name, from: remote, src: remoteAddr, dst: hostHEP, port: port, want: want}
	}
	b.hepCheck(in("denied on hep0", 8080, false), in("failsafe ssh", 22, true))
	if !b.dispatchesTo(rules.HostEndpointChain("fh", hepIface)) {
		t.Errorf("no dispatch to %s:\n%s", hepIface, strings.Join(b.ourRules(), "\n"))
	}
}

// TestHostEndpointIPv6: a deny-all host endpoint policy on IPv6 too: the
// failsafe port stays open, which needs neighbour discovery through the
// host endpoint (accepted before policy); other ports are denied both
// ways.
func TestHostEndpointIPv6(t *testing.T) { eachDataplane(t, testHostEndpointIPv6) }

func testHostEndpointIPv6(t *testing.T, cfg felix.Config) {
	cfg.Policy, cfg.EnableIPv6 = true, true
	b := newBed(t, cfg)
	remote := b.addRemote()
	b.put(hostEndpoint("h", hepIface, map[string]string{"role": "k8s-worker"}, hostHEP6.String()))
	b.setPolicies(denyAllHost)
	in := func(name string, port uint16, want bool) hepProbe {
		return hepProbe{name: name, from: remote, src: remoteAddr6, dst: hostHEP6, port: port, want: want}
	}
	b.hepCheck(in("v6 failsafe ssh", 22, true), in("v6 denied", 8080, false),
		hepProbe{name: "v6 out denied", from: b.host, src: hostHEP6, dst: remoteAddr6, port: 8080, want: false},
		hepProbe{name: "v6 out failsafe bgp", from: b.host, src: hostHEP6, dst: remoteAddr6, port: 179, want: true})
}

// TestHostEndpointTunnelPeers: a deny-all host endpoint still accepts the
// VXLAN packets of the hosts routing tunnels to (routing's VTEPs), as
// Calico does, and only theirs: the accept rule counts the peer's packet
// and not one from another address.
func TestHostEndpointTunnelPeers(t *testing.T) { eachDataplane(t, testHostEndpointTunnelPeers) }

func testHostEndpointTunnelPeers(t *testing.T, cfg felix.Config) {
	cfg.Policy = true
	b := newBed(t, cfg)
	remote := b.addRemote()
	b.put(hostEndpoint("h", hepIface, map[string]string{"role": "k8s-worker"}))
	b.setPolicies(denyAllHost)
	b.dp.SetRoutes(routes.Desired{
		VXLAN: &routes.VXLAN{VNI: 4096, Port: 4789, MTU: 1450, MAC: net.HardwareAddr{0x66, 0, 0, 0, 0, 1},
			Addr: netip.MustParseAddr("10.65.200.1"), Local: hostHEP},
		VTEPs: []routes.VTEP{{Node: "remote", MAC: net.HardwareAddr{0x66, 0, 0, 0, 0, 2},
			Addr: netip.MustParseAddr("10.65.201.1"), IP: remoteAddr}},
	})
	felixtest.Eventually(t, converge, "VXLAN peers accepted", func() error {
		if tunnelAccepted(b) < 0 {
			return fmt.Errorf("no VXLAN accept rule in %s", rules.HostEndpointChain("fh", hepIface))
		}
		return nil
	})
	count := func(src netip.Addr) int {
		before := tunnelAccepted(b)
		if err := felixtest.SendUDP(remote, src, netip.AddrPortFrom(hostHEP, 4789), "not really vxlan"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		return tunnelAccepted(b) - before
	}
	if n := count(remoteAddr); n != 1 {
		t.Errorf("VXLAN packet from the peer: accept rule counted %d, want 1", n)
	}
	if n := count(outsideAddr); n != 0 {
		t.Errorf("VXLAN packet from a non-peer: accept rule counted %d, want 0", n)
	}
}

var vxlanAcceptRE = regexp.MustCompile(`^\[(\d+):\d+\] -A (\S+) -p udp -m udp --dport 4789 -m set --match-set cali40s:vxlan-peers src`)

// tunnelAccepted returns the packet count of the VXLAN accept rule of
// hep0's filter chain, -1 when there is none.
func tunnelAccepted(b *bed) int {
	if b.nft {
		return b.nftCounter(rules.HostEndpointChain("fh", hepIface), func(r *nftables.Rule) bool {
			return looksUp(r, nftrules.SetName("cali40s:vxlan-peers"))
		})
	}
	n := -1
	for _, l := range strings.Split(b.iptables(4, "save", "-c", "-t", "filter"), "\n") {
		if m := vxlanAcceptRE.FindStringSubmatch(l); m != nil && m[2] == rules.HostEndpointChain("fh", hepIface) {
			n, _ = strconv.Atoi(m[1])
		}
	}
	return n
}
