package calc

import (
	"fmt"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// HostEndpointKey is a host endpoint's key in Steps and reasons.
func HostEndpointKey(name string) string { return "hostendpoint/" + name }

// Host endpoint stages as Steps and reasons name them: Calico's policy
// fields.
const (
	StageDoNotTrack     = "doNotTrack"
	StagePreDNAT        = "preDNAT"
	StageNormal         = "normal"
	StageApplyOnForward = "applyOnForward"
)

// Stage names the stage a kind of host policy is evaluated in.
func (k HostPolicyKind) Stage() string {
	return [...]string{HostNormal: StageNormal, HostForward: StageApplyOnForward,
		HostPreDNAT: StagePreDNAT, HostUntracked: StageDoNotTrack}[k]
}

// checkKinds name the host checks in Steps.
var checkKinds = map[HostCheck]string{CheckFailsafe: "failsafe", CheckNeighbourDiscovery: "neighbour discovery",
	CheckTunnelPeers: "tunnel peer"}

// Hop is one host a packet crosses, as that host's dataplane sees it.
type Hop struct {
	Node string
	// In polices the interface the packet arrives through, Out the one it
	// leaves through; nil when no host endpoint does (a workload's
	// interface, or one no host endpoint covers). A named host endpoint
	// wins over the host's "*" one for its interface.
	In, Out *HostEndpoint
	// FromHost: the host itself sends the packet; ToHost: the host itself
	// receives it. Neither: the host forwards it.
	FromHost, ToHost bool
	// From and To are the local workloads sending and receiving a
	// forwarded packet, if any.
	From, To *Endpoint
	Settings HostSettings
}

// PathVerdict evaluates pkt on each host it crosses, in order, in the
// dataplane's order on each (hostorder.go): the first host that drops it
// decides. With staged, the staged policies are enforced (what the fate
// would be); it changes nothing.
func (m *Model) PathVerdict(pkt Packet, hops []Hop, staged bool) Result {
	policies := m.policies
	if staged {
		policies = m.stagedPolicies()
	}
	var res Result
	for i := range hops {
		e := &hopEval{m: m, policies: policies, pkt: pkt, h: &hops[i], steps: &res.Steps}
		res.Allowed, res.Reason = e.run()
		if !res.Allowed {
			break
		}
	}
	return res
}

type hopEval struct {
	m        *Model
	policies map[string]*Policy
	pkt      Packet
	h        *Hop
	steps    *[]Step
}

// early is the outcome of an untracked or pre-DNAT stage.
type early int

const (
	undecided early = iota
	accepted        // marked accepted: the later host endpoint stages are skipped
	dropped
)

func (e *hopEval) run() (bool, string) {
	h := e.h
	if h.FromHost && h.To != nil {
		return true, fmt.Sprintf("allowed: the host (node %s) always reaches its own workloads", h.Node)
	}
	state, why := undecided, ""
	switch {
	case h.FromHost && h.Out != nil && !h.Out.AllInterfaces():
		state, why = e.early(h.Out, HostUntracked, Egress) // raw OUTPUT
	case !h.FromHost && h.In != nil:
		if !h.In.AllInterfaces() {
			state, why = e.early(h.In, HostUntracked, Ingress) // raw PREROUTING
		}
		if state == undecided {
			state, why = e.early(h.In, HostPreDNAT, Ingress) // mangle PREROUTING
		}
	}
	if state == dropped {
		return false, why
	}
	marked := state == accepted
	switch {
	case h.ToHost && (marked || h.In == nil):
		return true, e.unpoliced(marked, why, "into")
	case h.ToHost:
		return e.local(h.In, Ingress)
	case h.FromHost && (marked || h.Out == nil):
		return true, e.unpoliced(marked, why, "out of")
	case h.FromHost:
		return e.local(h.Out, Egress)
	}
	return e.forward(marked, why)
}

func (e *hopEval) unpoliced(marked bool, why, way string) string {
	if marked {
		return why + "; normal policy is skipped"
	}
	return fmt.Sprintf("allowed: no host endpoint of node %s polices the interface %s the host: Calico does not police it", e.h.Node, way)
}

// early runs an untracked or pre-DNAT stage: its checks (an accept ends
// only this table's chain), then its tiers without end-of-tier drop.
func (e *hopEval) early(hep *HostEndpoint, kind HostPolicyKind, dir Direction) (early, string) {
	if _, ok := e.check(hep, kind, dir); ok {
		return undecided, ""
	}
	t := target{key: HostEndpointKey(hep.Name), stage: kind.Stage()}
	pols := e.m.hostPoliciesFrom(e.policies, hep, kind, dir)
	decided, allowed, why := e.m.evaluateTiers(pols, t, dir, e.pkt, e.steps, false)
	switch {
	case !decided:
		return undecided, ""
	case allowed:
		return accepted, why
	}
	return dropped, why
}

// check records and reports the check that accepts pkt in hep's chain of
// kind before its policy.
func (e *hopEval) check(hep *HostEndpoint, kind HostPolicyKind, dir Direction) (string, bool) {
	for _, c := range HostChecks(kind) {
		if what, ok := e.h.Settings.checkAccepts(c, kind, dir, e.pkt); ok {
			*e.steps = append(*e.steps, Step{Direction: dir, Endpoint: HostEndpointKey(hep.Name), Stage: kind.Stage(),
				Kind: checkKinds[c], Name: what, Rule: -1, Action: resources.ActionAllow})
			return checkKinds[c] + " " + what, true
		}
	}
	return "", false
}

// local runs the filter table's chain for traffic into or out of the host
// itself: checks, then normal policy and profiles (neither: deny).
func (e *hopEval) local(hep *HostEndpoint, dir Direction) (bool, string) {
	t := target{key: HostEndpointKey(hep.Name), stage: StageNormal, profiles: hep.Profiles}
	if what, ok := e.check(hep, HostNormal, dir); ok {
		return true, fmt.Sprintf("%s allowed before policy: %s", t.label(dir), what)
	}
	return e.m.evaluateFor(e.m.hostPoliciesFrom(e.policies, hep, HostNormal, dir), t, dir, e.pkt, e.steps)
}

// forward runs the filter table's FORWARD path: unless untracked or
// pre-DNAT policy accepted the packet, the applyOnForward tiers of the
// host endpoint it arrives through, then of the one it leaves through (a
// host endpoint without such policy leaves the packet as it was); then
// the sending workload's egress and the receiving workload's ingress.
func (e *hopEval) forward(marked bool, why string) (bool, string) {
	h := e.h
	skip := marked // cali-hep-forward runs only for packets not yet accepted
	for _, side := range []struct {
		hep *HostEndpoint
		dir Direction
	}{{h.In, Ingress}, {h.Out, Egress}} {
		if skip || side.hep == nil {
			continue
		}
		pols := e.m.hostPoliciesFrom(e.policies, side.hep, HostForward, side.dir)
		if len(pols) == 0 {
			continue
		}
		t := target{key: HostEndpointKey(side.hep.Name), stage: StageApplyOnForward}
		decided, allowed, r := e.m.evaluateTiers(pols, t, side.dir, e.pkt, e.steps, true)
		if decided && !allowed {
			return false, r
		}
		marked, why = decided, r
	}
	if h.From != nil {
		ok, r := e.m.evaluate(e.policies, h.From, Egress, e.pkt, e.steps)
		if !ok || h.To == nil {
			return ok, r
		}
	}
	if h.To != nil {
		return e.m.evaluate(e.policies, h.To, Ingress, e.pkt, e.steps)
	}
	if marked {
		return true, why
	}
	return true, fmt.Sprintf("allowed: no host endpoint policy of node %s decides this forwarded packet; Calico leaves it to the host's other FORWARD rules", h.Node)
}

// Party is one end of a flow as PathVerdict sees it: a workload, a host
// endpoint (the host itself, through that interface), or neither (an
// address outside Calico's endpoints).
type Party struct {
	Workload *Endpoint
	Host     *HostEndpoint
}

func (p Party) node() string {
	switch {
	case p.Workload != nil:
		return p.Workload.Node
	case p.Host != nil:
		return p.Host.Node
	}
	return ""
}

// Hops returns the hosts a flow from one party to another crosses, with
// the host endpoints it meets there: a host endpoint party's own; for a
// workload's traffic to or from another host, its host's Uplink (between
// workloads of two hosts whose traffic is tunnelled, as settings' tunnel
// peers say, only a "*" one: the packet crosses the tunnel device, and
// its named interfaces see the tunnel peers' packets). settings gives each
// host's settings. A workload's traffic to its own host (INPUT) is not a
// hop: there, endpoint_to_host_action decides after its egress policy.
func (m *Model) Hops(from, to Party, settings func(node string) HostSettings) []Hop {
	fn, tn := from.node(), to.node()
	if fn != "" && fn == tn {
		return []Hop{{Node: fn, FromHost: from.Host != nil, ToHost: to.Host != nil, From: from.Workload, To: to.Workload,
			Settings: settings(fn)}}
	}
	var out []Hop
	if fn != "" {
		s := settings(fn)
		out = append(out, Hop{Node: fn, Out: m.hostSide(from, to, s), FromHost: from.Host != nil, From: from.Workload, Settings: s})
	}
	if tn != "" {
		s := settings(tn)
		out = append(out, Hop{Node: tn, In: m.hostSide(to, from, s), ToHost: to.Host != nil, To: to.Workload, Settings: s})
	}
	return out
}

// hostSide is the host endpoint p's traffic with other crosses on p's
// host.
func (m *Model) hostSide(p, other Party, s HostSettings) *HostEndpoint {
	if p.Host != nil {
		return p.Host
	}
	h := m.Uplink(p.node())
	tunnelled := len(s.Tunnels.VXLANPeers) > 0 || len(s.Tunnels.IPIPPeers) > 0
	if h != nil && !h.AllInterfaces() && other.Workload != nil && tunnelled {
		return nil
	}
	return h
}

// Uplink is the host endpoint a workload's traffic to or from other hosts
// is taken to cross: its host's all-interfaces ("*") host endpoint, else
// its only other host endpoint; nil when it has none or several (which
// of several interfaces the traffic uses depends on the host's routes).
func (m *Model) Uplink(node string) *HostEndpoint {
	heps := m.LocalHostEndpoints(node)
	for _, h := range heps {
		if h.AllInterfaces() {
			return h
		}
	}
	if len(heps) == 1 {
		return heps[0]
	}
	return nil
}
