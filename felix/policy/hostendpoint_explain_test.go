package policy_test

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// everyHostStage exercises every host endpoint stage on hep0's host
// endpoint (role: k8s-worker): untracked (allow 12211 from the remote
// with its replies; deny 22, which the failsafe port beats), pre-DNAT
// (deny the outside address; allow 10250, skipping normal policy) and
// normal plus applyOnForward: tier security passes 80 to the default tier
// (which allows it) and drops the rest of the ingress at its end; the
// default tier allows 8080 out and drops the rest.
const everyHostStage = `
apiVersion: projectcalico.org/v3
kind: Tier
metadata: {name: security}
spec: {order: 10}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: security.gate}
spec:
  tier: security
  selector: role == 'k8s-worker'
  applyOnForward: true
  ingress: [{action: Pass, protocol: TCP, destination: {ports: [80]}}]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: untracked}
spec:
  order: 1
  selector: role == 'k8s-worker'
  doNotTrack: true
  applyOnForward: true
  ingress:
  - {action: Allow, protocol: TCP, source: {nets: [192.168.100.2/32]}, destination: {ports: [12211]}}
  - {action: Deny, protocol: TCP, destination: {ports: [22]}}
  egress:
  - {action: Allow, protocol: TCP, source: {ports: [12211]}}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: pre-dnat}
spec:
  order: 2
  selector: role == 'k8s-worker'
  preDNAT: true
  applyOnForward: true
  ingress:
  - {action: Deny, source: {nets: [203.0.113.2/32]}}
  - {action: Allow, protocol: TCP, destination: {ports: [10250]}}
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  order: 3
  selector: role == 'k8s-worker'
  applyOnForward: true
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]
  egress: [{action: Allow, protocol: TCP, destination: {ports: [8080]}}]
`

// TestHostEndpointExplainMatchesKernel: for flows into, out of and
// through a host endpoint, the verdict calc.Model.PathVerdict gives (what
// calicoctl policy explain prints) is the real kernel's.
func TestHostEndpointExplainMatchesKernel(t *testing.T) {
	cfg := felix.Config{Policy: true}
	b := newBed(t, cfg, decode(t, allowAll)...)
	remote := b.addRemote()
	w := b.addWorkload("w", 1, []string{"calico"}, nil)
	b.put(hostEndpoint("h", hepIface, map[string]string{"role": "k8s-worker"}, hostHEP.String()))
	b.setPolicies(everyHostStage)
	// The parties as policy explain resolves them; calc.Model.Hops finds
	// the host endpoints between them.
	host, wl, outside := calc.Party{Host: b.ref.HostEndpoint("h")}, calc.Party{Workload: b.ref.EndpointByIP(w.V4)}, calc.Party{}
	into, outOf, toWL, fromWL := []calc.Party{outside, host}, []calc.Party{host, outside}, []calc.Party{outside, wl}, []calc.Party{wl, outside}
	probes := []explainProbe{
		{"failsafe beats the untracked deny", remote, remoteAddr, hostHEP, 22, into, true},
		{"untracked allow", remote, remoteAddr, hostHEP, 12211, into, true},
		{"pre-DNAT allow skips normal policy", remote, remoteAddr, hostHEP, 10250, into, true},
		{"pass to the default tier", remote, remoteAddr, hostHEP, 80, into, true},
		{"end of tier security", remote, remoteAddr, hostHEP, 8080, into, false},
		{"pre-DNAT deny", remote, outsideAddr, hostHEP, 80, into, false},
		{"failsafe beats the pre-DNAT deny", remote, outsideAddr, hostHEP, 22, into, true},
		{"host out, normal allow", b.host, hostHEP, remoteAddr, 8080, outOf, true},
		{"host out, end of tier", b.host, hostHEP, remoteAddr, 80, outOf, false},
		{"host out, failsafe", b.host, hostHEP, remoteAddr, 179, outOf, true},
		{"forwarded in, applyOnForward allow", remote, remoteAddr, w.V4, 80, toWL, true},
		{"forwarded in, end of tier", remote, remoteAddr, w.V4, 8080, toWL, false},
		{"forwarded in, pre-DNAT deny", remote, outsideAddr, w.V4, 80, toWL, false},
		{"forwarded out, applyOnForward allow", w.NS, w.V4, remoteAddr, 8080, fromWL, true},
		{"forwarded out, end of tier", w.NS, w.V4, remoteAddr, 80, fromWL, false},
	}
	b.explainCheck(cfg, probes)
}

// explainCheck runs the probes concurrently and reports each whose
// kernel outcome or PathVerdict differs from the wanted one.
func (b *bed) explainCheck(cfg felix.Config, probes []explainProbe) {
	b.t.Helper()
	settings := func(string) calc.HostSettings { return calc.HostSettings{Failsafe: cfg.HostEndpoints} }
	errs := make([]error, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.run(b.ref, settings) }()
	}
	wg.Wait()
	for i, p := range probes {
		if errs[i] != nil {
			b.t.Errorf("%s (%s -> %s:%d): %v", p.name, p.src, p.dst, p.port, errs[i])
		}
	}
}

// TestHostEndpointExplainAllInterfaces: the "*" host endpoint with an
// applyOnForward policy, then the same policy without applyOnForward, and
// a staged deny that changes no packet: explain and the kernel agree.
func TestHostEndpointExplainAllInterfaces(t *testing.T) {
	cfg := felix.Config{Policy: true}
	b := newBed(t, cfg, decode(t, allowAll)...)
	remote := b.addRemote()
	w := b.addWorkload("w", 1, []string{"calico"}, nil)
	b.put(hostEndpoint("all", "*", map[string]string{"host-endpoint": ""}))
	host, wl, outside := calc.Party{Host: b.ref.HostEndpoint("all")}, calc.Party{Workload: b.ref.EndpointByIP(w.V4)}, calc.Party{}
	into, toWL := []calc.Party{outside, host}, []calc.Party{outside, wl}
	staged := `
---
apiVersion: projectcalico.org/v3
kind: StagedGlobalNetworkPolicy
metadata: {name: deny-web}
spec:
  order: 1
  selector: has(host-endpoint)
  applyOnForward: true
  ingress: [{action: Deny}]
`
	for _, aof := range []string{"true", "false"} {
		b.setPolicies(`
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: web}
spec:
  order: 10
  selector: has(host-endpoint)
  applyOnForward: ` + aof + `
  ingress: [{action: Allow, protocol: TCP, destination: {ports: [80]}}]
` + staged)
		forwarded := aof == "false" // not policed without applyOnForward
		b.explainCheck(cfg, []explainProbe{
			{"forwarded, port 80", remote, remoteAddr, w.V4, 80, toWL, true},
			{"forwarded, port 8080", remote, remoteAddr, w.V4, 8080, toWL, forwarded},
			{"host, port 80", remote, remoteAddr, hostHEP, 80, into, true},
			{"host, port 8080", remote, remoteAddr, hostHEP, 8080, into, false},
			{"host, failsafe", remote, remoteAddr, hostHEP, 22, into, true},
		})
		pkt := calc.Packet{Src: remoteAddr, Dst: hostHEP, Protocol: 6, SrcPort: 1, DstPort: 80, ICMPType: -1}
		if v := b.ref.PathVerdict(pkt, b.ref.Hops(outside, host, func(string) calc.HostSettings { return calc.HostSettings{} }), true); v.Allowed {
			t.Errorf("staged deny: explain's staged verdict allows (%s)", v.Reason)
		}
	}
	// No policy: the host endpoint's default deny, failsafe ports open,
	// forwarded traffic not policed.
	b.setPolicies("")
	b.explainCheck(cfg, []explainProbe{
		{"default deny", remote, remoteAddr, hostHEP, 80, into, false},
		{"default deny, failsafe", remote, remoteAddr, hostHEP, 22, into, true},
		{"no policy, forwarded", remote, remoteAddr, w.V4, 8080, toWL, true},
		{"no policy, host out", b.host, hostHEP, remoteAddr, 80, []calc.Party{host, outside}, false},
	})
}

// explainProbe is one TCP flow between two parties.
type explainProbe struct {
	name     string
	from     *felixtest.NS
	src, dst netip.Addr
	port     uint16
	parties  []calc.Party // from, to
	want     bool
}

// run sends the flow and compares the kernel's outcome with the wanted
// one and with PathVerdict's.
func (p explainProbe) run(ref *calc.Model, settings func(string) calc.HostSettings) error {
	sport := uint16(srcPorts.Add(1))
	timeout := time.Second
	if p.want {
		timeout = 5 * time.Second
	}
	err := felixtest.TCP(p.from, netip.AddrPortFrom(p.src, sport), netip.AddrPortFrom(p.dst, p.port), timeout)
	pkt := calc.Packet{Src: p.src, Dst: p.dst, Protocol: 6, SrcPort: sport, DstPort: p.port, ICMPType: -1}
	v := ref.PathVerdict(pkt, ref.Hops(p.parties[0], p.parties[1], settings), false)
	switch got := err == nil; {
	case got != p.want:
		return fmt.Errorf("kernel delivered=%v, want %v (%v); explain: %v, %s", got, p.want, err, v.Allowed, v.Reason)
	case v.Allowed != got:
		return fmt.Errorf("kernel delivered=%v but explain says allowed=%v: %s; steps %v", got, v.Allowed, v.Reason, v.Steps)
	}
	return nil
}
