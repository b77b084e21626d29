package calc

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// Packet is the first packet of a flow, as policy sees it.
type Packet struct {
	Src, Dst         netip.Addr
	Protocol         uint8 // 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6 ...
	SrcPort, DstPort uint16
	ICMPType         int // -1 when not ICMP
	ICMPCode         int
}

// Step records one policy or profile consulted.
type Step struct {
	Direction Direction
	Endpoint  string // endpoint key; a host endpoint's is HostEndpointKey
	// Stage is "" for a workload endpoint; for a host endpoint the
	// HostStage that consulted the step.
	Stage string
	// Kind is "policy" or "profile", or for a host endpoint's accept
	// before policy "failsafe", "neighbour discovery" or "tunnel peer"
	// (Name says what matched, Action is Allow).
	Kind   string
	Name   string // policy key or profile name
	Rule   int    // index of the deciding rule, -1 when no rule matched
	Action string // Allow, Deny, Pass, Log, or "" when no rule matched
}

func (s Step) String() string {
	dir := s.Direction.String()
	if s.Stage != "" {
		dir += " (" + s.Stage + ")"
	}
	if s.Rule < 0 && s.Action == "" {
		return fmt.Sprintf("%s %s %s: no rule matched", dir, s.Kind, s.Name)
	}
	if s.Rule < 0 {
		return fmt.Sprintf("%s %s %s: %s", dir, s.Kind, s.Name, s.Action)
	}
	return fmt.Sprintf("%s %s %s: rule %d matched: %s", dir, s.Kind, s.Name, s.Rule, s.Action)
}

// Result is a verdict with the path that decided it.
type Result struct {
	Allowed bool
	Steps   []Step
	Reason  string
}

// Verdict evaluates pkt as the dataplane does: the egress policy of the
// source endpoint (when the source is a workload), then the ingress policy
// of the destination endpoint (when the destination is a workload).
func (m *Model) Verdict(pkt Packet) Result { return m.verdictWith(m.policies, pkt) }

func (m *Model) verdictWith(policies map[string]*Policy, pkt Packet) Result {
	var res Result
	if ep := m.byIP[pkt.Src]; ep != nil {
		ok, reason := m.evaluate(policies, ep, Egress, pkt, &res.Steps)
		if !ok {
			res.Reason = reason
			return res
		}
	}
	if ep := m.byIP[pkt.Dst]; ep != nil {
		ok, reason := m.evaluate(policies, ep, Ingress, pkt, &res.Steps)
		res.Allowed, res.Reason = ok, reason
		return res
	}
	res.Allowed, res.Reason = true, "allowed: no workload policy applies at the destination"
	return res
}

// EvaluateDirection evaluates one direction on one endpoint.
func (m *Model) EvaluateDirection(ep *Endpoint, dir Direction, pkt Packet) (bool, []Step, string) {
	var steps []Step
	ok, reason := m.evaluate(m.policies, ep, dir, pkt, &steps)
	return ok, steps, reason
}

// evaluate applies Calico's tiered semantics: tiers in order, each tier
// that has a policy selecting ep decides (Allow, Deny), passes to the next
// tier (a Pass rule, or defaultAction Pass when no rule matched) or ends
// in a drop (defaultAction Deny). Passing the last tier, or no policy
// selecting ep, leads to ep's profiles.
func (m *Model) evaluate(policies map[string]*Policy, ep *Endpoint, dir Direction, pkt Packet, steps *[]Step) (bool, string) {
	if ep.Pending { // as the dataplane: fail closed until the labels are known
		return false, fmt.Sprintf("%s denied: the labels of %s are not known yet", dir, ep.Key)
	}
	return m.evaluateFor(m.policiesFrom(policies, ep, dir), target{key: ep.Key, profiles: ep.Profiles}, dir, pkt, steps)
}

// target is what a policy list is evaluated for: an endpoint (its key
// and profiles) and, for a host endpoint, the stage (HostStage).
type target struct {
	key      string
	stage    string
	profiles []string
}

// label names the direction (and stage) in reasons.
func (t target) label(dir Direction) string {
	if t.stage == "" {
		return dir.String()
	}
	return fmt.Sprintf("%s (%s, %s)", dir, t.stage, t.key)
}

// evaluateFor runs the tiers of pols (in evaluation order), then t's
// profiles; with no profile rule allowing, the packet is denied.
func (m *Model) evaluateFor(pols []*Policy, t target, dir Direction, pkt Packet, steps *[]Step) (bool, string) {
	if decided, allowed, reason := m.evaluateTiers(pols, t, dir, pkt, steps, true); decided {
		return allowed, reason
	}
	for _, name := range t.profiles {
		prof := m.profiles[name]
		if prof == nil {
			*steps = append(*steps, Step{Direction: dir, Endpoint: t.key, Stage: t.stage, Kind: "profile", Name: name, Rule: -1})
			continue
		}
		action, idx := m.firstMatch(prof.Rules(dir), pkt, dir, t, "profile", name, steps)
		switch action {
		case resources.ActionAllow:
			return true, fmt.Sprintf("%s allowed by profile %s rule %d", t.label(dir), name, idx)
		case resources.ActionDeny:
			return false, fmt.Sprintf("%s denied by profile %s rule %d", t.label(dir), name, idx)
		}
	}
	if t.stage != "" && len(pols) == 0 && len(t.profiles) == 0 {
		*steps = append(*steps, Step{Direction: dir, Endpoint: t.key, Stage: t.stage, Kind: "default deny",
			Name: "no policy, no profile", Rule: -1, Action: resources.ActionDeny})
		return false, fmt.Sprintf("%s denied: no policy and no profile applies to %s (a host endpoint's default deny)", t.label(dir), t.key)
	}
	return false, fmt.Sprintf("%s denied: no profile of %s allowed the packet", t.label(dir), t.key)
}

// evaluateTiers runs the tiers of pols; decided is false when the packet
// passed the last tier (or no policy applies). Without endDrop (untracked
// and pre-DNAT policy) a tier that does not decide passes.
func (m *Model) evaluateTiers(pols []*Policy, t target, dir Direction, pkt Packet, steps *[]Step, endDrop bool) (decided, allowed bool, reason string) {
	for _, group := range TierGroups(pols) {
		if decided, allowed, reason := m.evaluateTier(group, t, dir, pkt, steps, endDrop); decided {
			return true, allowed, reason
		}
	}
	return false, false, ""
}

// evaluateTier runs the policies of one tier; decided is false when the
// packet passes to the next tier.
func (m *Model) evaluateTier(group []*Policy, t target, dir Direction, pkt Packet, steps *[]Step, endDrop bool) (decided, allowed bool, reason string) {
	for _, p := range group {
		action, idx := m.firstMatch(p.Rules(dir), pkt, dir, t, "policy", p.Key, steps)
		switch action {
		case resources.ActionAllow:
			return true, true, fmt.Sprintf("%s allowed by policy %s rule %d", t.label(dir), p.Key, idx)
		case resources.ActionDeny:
			return true, false, fmt.Sprintf("%s denied by policy %s rule %d", t.label(dir), p.Key, idx)
		case resources.ActionPass:
			return false, false, ""
		}
	}
	tier := group[0].Tier
	if !endDrop || m.tierOf(tier).Spec.DefaultAction == resources.TierActionPass {
		return false, false, ""
	}
	if tier == resources.DefaultTierName {
		return true, false, fmt.Sprintf("%s denied: policies select %s and none allowed the packet", t.label(dir), t.key)
	}
	return true, false, fmt.Sprintf("%s denied: policies of tier %s select %s and none decided (end of tier drop)", t.label(dir), tier, t.key)
}

// firstMatch walks rules, recording Log matches and the deciding rule.
func (m *Model) firstMatch(rules []Rule, pkt Packet, dir Direction, t target, kind, name string, steps *[]Step) (string, int) {
	for i := range rules {
		if !m.Matches(&rules[i], pkt) {
			continue
		}
		*steps = append(*steps, Step{Direction: dir, Endpoint: t.key, Stage: t.stage, Kind: kind, Name: name, Rule: i, Action: rules[i].Action})
		if rules[i].Action != resources.ActionLog {
			return rules[i].Action, i
		}
	}
	*steps = append(*steps, Step{Direction: dir, Endpoint: t.key, Stage: t.stage, Kind: kind, Name: name, Rule: -1})
	return "", -1
}

// Matches reports whether a rule matches a packet. Selector matches are by
// address membership, exactly as the dataplane's IP sets.
func (m *Model) Matches(r *Rule, pkt Packet) bool {
	v4 := pkt.Src.Is4()
	if r.IPVersion != 0 && (r.IPVersion == 4) != v4 {
		return false
	}
	if r.Protocol != nil && r.Protocol.Number != pkt.Protocol {
		return false
	}
	if r.NotProtocol != nil && r.NotProtocol.Number == pkt.Protocol {
		return false
	}
	if !icmpMatches(r.ICMP, pkt, true) || !icmpMatches(r.NotICMP, pkt, false) {
		return false
	}
	return m.entityMatches(&r.Src, pkt.Src, pkt.SrcPort, v4) && m.entityMatches(&r.Dst, pkt.Dst, pkt.DstPort, v4)
}

func icmpMatches(im *resources.ICMPMatch, pkt Packet, positive bool) bool {
	if im == nil || im.Type == nil {
		return true
	}
	hit := pkt.ICMPType == *im.Type && (im.Code == nil || pkt.ICMPCode == *im.Code)
	return hit == positive
}

func (m *Model) entityMatches(e *Entity, addr netip.Addr, port uint16, v4 bool) bool {
	if len(e.Nets) > 0 && !inNets(e.Nets, addr) {
		return false
	}
	if len(e.NotNets) > 0 && inNets(e.NotNets, addr) {
		return false
	}
	// A rule whose nets are all of the other family can never match.
	if len(e.Nets) > 0 && !slices.ContainsFunc(e.Nets, func(p netip.Prefix) bool { return p.Addr().Is4() == v4 }) {
		return false
	}
	if e.Selector != nil && !m.selected(e.Selector, addr) {
		return false
	}
	if e.NotSelector != nil && m.selected(e.NotSelector, addr) {
		return false
	}
	if len(e.Ports) > 0 && !inPorts(e.Ports, port) {
		return false
	}
	if len(e.NotPorts) > 0 && inPorts(e.NotPorts, port) {
		return false
	}
	return true
}

// selected reports whether sel matches the endpoint owning addr or a
// network set containing it.
func (m *Model) selected(sel selector.Selector, addr netip.Addr) bool {
	if ep := m.byIP[addr]; ep != nil && sel.Evaluate(ep.Labels) {
		return true
	}
	return m.netSetMatches(sel, addr)
}

func inNets(nets []netip.Prefix, a netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

func inPorts(ports []resources.Port, p uint16) bool {
	for _, r := range ports {
		if p >= r.Min && p <= r.Max {
			return true
		}
	}
	return false
}
