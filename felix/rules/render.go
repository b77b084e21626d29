package rules

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// Config says how to render.
type Config struct {
	IPVersion int // 4 or 6
	// EndpointToHostAccept lets workloads reach the host itself (INPUT)
	// after their egress policy allowed it; false (default) drops it.
	EndpointToHostAccept bool
	// EndpointToHostReturn returns that traffic to the INPUT chain instead
	// (its later rules decide); it wins over EndpointToHostAccept.
	EndpointToHostReturn bool
	// LogPrefix is used by rules with action Log.
	LogPrefix string
	// FlowLogGroup, when not 0, is the NFLOG group verdict rules log the
	// first packet of each connection to (nflog.go); 0: no flow logs.
	FlowLogGroup uint16
	// HostEndpoints configures host endpoint protection (hostendpoint.go).
	HostEndpoints HostEndpointConfig
	// HostAddrs maps this host's addresses to their interfaces: a host
	// endpoint given by expectedIPs only protects the interface that has
	// one of them (the dataplane reads the map from the kernel).
	HostAddrs map[netip.Addr]string
	// Tunnels are the peers whose VXLAN and IPIP packets host endpoints
	// accept before policy (hosttunnels.go).
	Tunnels TunnelPeers
}

// Result is the desired filter-table state for one family.
type Result struct {
	Chains  []ipt.Chain
	Inserts map[string][]ipt.Rule // built-in chain -> rules at its top
	IPSets  map[string][]netip.Prefix
	// RuleIDs maps each NFLOG prefix the chains use to the rule it names
	// (empty without Config.FlowLogGroup).
	RuleIDs map[string]RuleID
	// Raw and Mangle are the raw and mangle tables' state: host endpoints'
	// untracked and pre-DNAT policy (hostendpoint.go); empty without host
	// endpoints.
	Raw, Mangle Table
	// Delta says which Chains changed since the Renderer's last Result.
	Delta Delta
}

// Source is what rendering reads. *calc.Model implements it; felix/policy
// puts an incremental cache (policy.Index) in front of a model so a change
// to one policy or endpoint does not re-evaluate every selector.
type Source interface {
	// LocalEndpoints returns node's endpoints, sorted by key.
	LocalEndpoints(node string) []*calc.Endpoint
	// PoliciesFor returns, in evaluation order, the policies selecting ep.
	PoliciesFor(ep *calc.Endpoint, dir calc.Direction) []*calc.Policy
	// Profile returns a profile by name, or nil.
	Profile(name string) *calc.Profile
	// Tier returns a tier (order, defaultAction) by name; never nil.
	Tier(name string) *resources.Tier
	// Members returns the addresses of every endpoint sel matches (host
	// endpoints: their expectedIPs) and the CIDRs of every network set it
	// matches, sorted (calc.ComparePrefixes).
	// The result may end up in the rendered IP sets: the Source must not
	// modify it afterwards (return a new slice when the members change).
	Members(sel selector.Selector) []netip.Prefix
}

var _ Source = (*calc.Model)(nil)

// Delta says how a Result's Chains differ from those of the previous
// Result of the same Renderer. Without Incremental (a first render, or a
// change of the rendering configuration) there is no delta: compare or
// replace everything. Inserts, IPSets, RuleIDs, Raw and Mangle are
// always complete.
type Delta struct {
	Incremental bool
	// Changed names the chains added or rewritten, Removed those gone;
	// both sorted.
	Changed, Removed []string
	// SetsChanged names the IP sets added or with new members,
	// SetsRemoved those gone; both sorted.
	SetsChanged, SetsRemoved []string
	// RuleIDsChanged: RuleIDs differ from the last Result's (when not, it
	// is the same map).
	RuleIDsChanged bool
	// Dispatch, when the dispatch chains are among Changed and only their
	// endpoints' rules did: each interface whose rules came (true) or
	// went (false) since the last Result (its rules are
	// "-i <iface> -g <EndpointChain(iface, true)>" and
	// "-o <iface> -g <EndpointChain(iface, false)>"). Nil otherwise.
	Dispatch map[string]bool
}

type renderer struct {
	cfg    Config
	m      Source
	inc    *Renderer
	chains map[string][]ipt.Rule // chains rendered on every render (top level, host endpoints)
	ipsets map[string][]netip.Prefix
	// policies whose chains a chain rendered this render (not cached)
	// needs: host endpoints' forward chains.
	policies map[string]*calc.Policy
	groups   map[string]bool   // group chains such chains jump to
	ruleIDs  map[string]RuleID // NFLOG prefix -> rule (nflog.go)
	// sets, when not nil, collects the IP sets a cached chain uses.
	sets *[]setRef
}

// Render renders the policy of node's local endpoints from scratch.
func Render(m Source, node string, cfg Config) Result {
	res := new(Renderer).Render(m, node, cfg)
	res.Delta = Delta{} // nothing to compare with
	return res
}

// sortedChains returns chains sorted by name, gotos rendered.
func sortedChains(chains map[string][]ipt.Rule) []ipt.Chain {
	out := make([]ipt.Chain, 0, len(chains))
	for _, n := range slices.Sorted(maps.Keys(chains)) {
		out = append(out, ipt.Chain{Name: n, Rules: fixGoto(chains[n])})
	}
	return out
}

// fixGoto turns the "goto X" action shorthand into "-g X" (Rule.Action is
// rendered after -j, so gotos are carried in Match instead).
func fixGoto(rules []ipt.Rule) []ipt.Rule {
	out := make([]ipt.Rule, len(rules))
	for i, r := range rules {
		if target, ok := strings.CutPrefix(r.Action, "goto "); ok {
			r.Match = strings.TrimSpace(r.Match + " -g " + target)
			r.Action = ""
		}
		out[i] = r
	}
	return out
}

func (r *renderer) topLevel() {
	est := "-m conntrack --ctstate RELATED,ESTABLISHED"
	inv := "-m conntrack --ctstate INVALID"
	r.chains[ChainForward] = append([]ipt.Rule{
		{Match: "-i cali+ " + est, Action: "ACCEPT"},
		{Match: "-o cali+ " + est, Action: "ACCEPT"},
		{Match: "-i cali+ " + inv, Action: "DROP"},
		{Match: "-o cali+ " + inv, Action: "DROP"},
	}, append(linkLocalDrops(r.cfg.IPVersion), // linklocal.go
		ipt.Rule{Match: "-i cali+", Action: ChainFromDispatch},
		ipt.Rule{Match: "-o cali+", Action: ChainToDispatch},
		ipt.Rule{Match: "-i cali+", Action: "ACCEPT"},
		ipt.Rule{Match: "-o cali+", Action: "ACCEPT"},
	)...)
	hostAction := "DROP"
	switch {
	case r.cfg.EndpointToHostReturn:
		hostAction = "RETURN"
	case r.cfg.EndpointToHostAccept:
		hostAction = "ACCEPT"
	}
	input := []ipt.Rule{
		{Match: "-i cali+ " + est, Action: "ACCEPT"},
		{Match: "-i cali+ " + inv, Action: "DROP"},
	}
	if r.cfg.IPVersion == 6 {
		// Neighbour discovery with the host (the workload's gateway is the
		// host's link-local address) comes from link-local or unspecified
		// sources that anti-spoofing would drop: allow it first, as felix
		// does (router solicitation/advertisement, neighbour
		// solicitation/advertisement, MLD).
		for _, typ := range []int{130, 131, 132, 133, 135, 136} {
			input = append(input, ipt.Rule{
				Match: fmt.Sprintf("-i cali+ -p ipv6-icmp -m icmp6 --icmpv6-type %d", typ), Action: "ACCEPT"})
		}
	}
	r.chains[ChainInput] = append(input,
		ipt.Rule{Match: "-i cali+", Action: ChainFromDispatch},
		ipt.Rule{Match: "-i cali+", Action: hostAction})
	// Host to its own workloads: always allowed (health checks, docker exec
	// style probes); replies come back through INPUT as ESTABLISHED.
	r.chains[ChainOutput] = []ipt.Rule{
		{Match: "-o cali+", Action: "ACCEPT"},
	}
}

// endpointChains renders an endpoint's from- and to-workload chains,
// whose policy is in the group chains named groups (by calc.Direction).
func (r *renderer) endpointChains(ep *calc.Endpoint, groups [2]string) (fw, tw []ipt.Rule) {
	if ep.Pending {
		return r.logged(prePolicyRuleID(PrePolicyPending, false), false, ipt.Rule{Action: "DROP"}),
			r.logged(prePolicyRuleID(PrePolicyPending, true), false, ipt.Rule{Action: "DROP"})
	}
	// From the workload: anti-spoofing, then egress policy.
	spoofed := prePolicyRuleID(PrePolicyAntiSpoofing, false)
	if len(ep.MAC) > 0 {
		fw = r.logged(spoofed, false, ipt.Rule{Match: "-m mac ! --mac-source " + ep.MAC.String(), Action: "DROP"})
	}
	for _, a := range ep.Addrs {
		if a.Addr().Is4() == (r.cfg.IPVersion == 4) {
			fw = append(fw, ipt.Rule{Match: "-s " + a.String(), Action: "goto " + groups[calc.Egress]})
		}
	}
	fw = append(fw, r.logged(spoofed, false, ipt.Rule{Action: "DROP"})...)
	return fw, []ipt.Rule{{Action: "goto " + groups[calc.Ingress]}}
}

// groupOf returns the name of the group chain for an ordered policy list
// (in evaluation order) and profiles in one direction; it returns to the
// caller only when the packet is allowed. The Renderer renders each
// group once and keeps it while a chain jumps to it.
//
// As Calico's felix: one block per tier that has a policy selecting the
// endpoint, in tier order. A block clears the marks and jumps to its
// policies in order while neither mark is set (Allow sets the accept mark,
// Pass the pass mark, Deny drops); an accepted packet returns; one no
// policy passed meets the tier's defaultAction (Deny: the end-of-tier
// drop; Pass: the next block). Profiles come after the last block, reached
// only when no tier selected the endpoint or the last one passed. A block
// whose tier can't pass (tierEnds: the usual case, no Pass rule) ends in
// an unconditional drop and is the chain's last. Rules: linear in
// policies, tiers and profiles.
func (r *renderer) groupOf(policies []*calc.Policy, profiles []string, ingress bool) string {
	tiers := calc.TierGroups(policies)
	var sig strings.Builder
	for _, pols := range tiers {
		t := r.m.Tier(pols[0].Tier)
		r.inc.tiers[pols[0].Tier] = t
		fmt.Fprintf(&sig, "%s:%s[", t.Name, t.Spec.DefaultAction)
		for _, p := range pols {
			sig.WriteString(p.Key)
			if passes(p, ingress) { // the tier's end is conditional (tierEnds)
				sig.WriteString("+pass")
			}
			sig.WriteString(",")
		}
		sig.WriteString("]")
	}
	sig.WriteString("|" + strings.Join(profiles, ","))
	name := groupChain(sig.String(), ingress)
	r.inc.notePolicies(policies)
	if r.inc.groups[name] == nil {
		r.inc.newGroup(r, name, tiers, profiles, ingress)
	}
	return name
}

// groupRules renders a group chain; its policies are registered in pols.
func (r *renderer) groupRules(tiers [][]*calc.Policy, profiles []string, ingress bool, pols map[string]*calc.Policy) []ipt.Rule {
	var rules []ipt.Rule
	for _, tier := range tiers {
		rules = append(rules, r.tierBlock(tier, ingress, pols, true)...)
		if r.tierEnds(tier, ingress) {
			return rules // its end-of-tier drop is unconditional: nothing after it is reached
		}
	}
	rules = append(rules, ipt.Rule{Action: MarksCleared})
	for i, prof := range profiles {
		rules = append(rules, ipt.Rule{Match: unlessMarked(i, MarkAccept), Action: ProfileChain(prof, ingress)})
	}
	rules = append(rules, AcceptedReturn)
	defaultDrop := &RuleID{Rule: -1, Direction: direction(ingress), Trigger: TriggerDefaultDeny}
	return append(rules, r.logged(defaultDrop, false, ipt.Rule{Action: "DROP"})...)
}

// tierBlock renders one tier's policies (pols, in order, all of one tier)
// for a group chain, registering them in chains (the policies whose chains
// the table needs). endDrop renders the end-of-tier drop of a tier whose
// defaultAction is Deny (untracked and pre-DNAT host policy has none).
func (r *renderer) tierBlock(pols []*calc.Policy, ingress bool, chains map[string]*calc.Policy, endDrop bool) []ipt.Rule {
	rules := []ipt.Rule{{Action: MarksCleared}}
	for i, p := range pols {
		chains[p.Key] = p
		rules = append(rules, ipt.Rule{Match: unlessMarked(i, markMask), Action: PolicyChain(p.Key, ingress)})
	}
	rules = append(rules, AcceptedReturn)
	if endDrop && r.m.Tier(pols[0].Tier).Spec.DefaultAction != resources.TierActionPass {
		endOfTier := &RuleID{Tier: pols[0].Tier, Rule: -1, Direction: direction(ingress), Trigger: TriggerEndOfTier}
		match := MarkMatch(0, MarkPass)
		if r.tierEnds(pols, ingress) {
			match = "" // no policy of the tier can set the pass mark
		}
		rules = append(rules, r.logged(endOfTier, false, ipt.Rule{Match: match, Action: "DROP"})...)
	}
	return rules
}

// tierEnds reports whether a tier's block always ends a packet's way
// through a group chain: its defaultAction is Deny and none of its
// policies (pols) has a Pass rule in the direction, so a packet no policy
// allowed or denied meets an unconditional end-of-tier drop. The group
// name records which policies pass (groupOf), so a policy gaining or
// losing a Pass rule renders its groups anew.
func (r *renderer) tierEnds(pols []*calc.Policy, ingress bool) bool {
	if r.m.Tier(pols[0].Tier).Spec.DefaultAction == resources.TierActionPass {
		return false
	}
	return !slices.ContainsFunc(pols, func(p *calc.Policy) bool { return passes(p, ingress) })
}

// passes reports whether a policy has a Pass rule in a direction.
func passes(p *calc.Policy, ingress bool) bool {
	d := calc.Egress
	if ingress {
		d = calc.Ingress
	}
	return slices.ContainsFunc(p.Rules(d), func(rule calc.Rule) bool { return rule.Action == resources.ActionPass })
}

// Fusable reports whether rule a and the rule b after it in chain can be
// one rule where a rule may hold several statements, run in order (an
// nftables rule: a's expressions, then b's):
//
//   - a is a group chain's mark clear and b is unconditional (the jump to
//     the first policy or profile);
//   - in a policy or profile chain, a sets the accept or the pass mark (an
//     Allow, a Pass: actionRules) and b is the return on it. There the
//     marks are clear at every rule (the group chain clears them before its
//     jumps and jumps only while none is set, and each rule that sets one
//     is followed by this return), so b returns exactly when a matched;
//   - in any chain, a is AllowAndClear and b is AcceptedReturn (there they
//     must be fused: see AllowAndClear).
//
// In each case b's match, where it has one, holds whenever a has run (the
// mark a has just set): the fused rule is a's match and statements, then
// b's verdict.
//
// The caller must not fuse a rule it splits into several (an nftables
// multiport split): a packet one of them marked must meet the return
// after the last.
func Fusable(chain string, a, b ipt.Rule) bool {
	if a == (ipt.Rule{Action: MarksCleared}) {
		return b.Match == ""
	}
	if a.Action == AllowAndClear {
		return b == AcceptedReturn
	}
	if !IsRuleChain(chain) {
		return false
	}
	for _, bit := range []uint32{MarkAccept, MarkPass} {
		if a.Action == MarkAction(bit, bit) {
			return b == ipt.Rule{Match: MarkMatch(bit, bit), Action: "RETURN"}
		}
	}
	return false
}

// The mark plumbing of group and policy chains, for felix/nftrules,
// which holds a group chain's only policy in the group chain itself
// (nftrules/inline.go):
//
//   - MarksCleared, a group chain's first rule (the policy and pass marks
//     cleared before its tiers' policies);
//   - AcceptedReturn, the return on the accept mark (after a policy's
//     Allow, and in a group chain after a tier's jumps);
//   - AllowAndClear, an Allow held in its group chain: the accept mark
//     set and the pass mark cleared, the marks a group chain returns with
//     when a policy allowed. Fusable always fuses it with the
//     AcceptedReturn after it, whatever the chain: the return then fires
//     exactly when the Allow matched, so a mark the packet came in with
//     (no clear before it there) cannot return it.
var (
	MarksCleared   = MarkAction(0, markMask)
	AcceptedReturn = ipt.Rule{Match: MarkMatch(MarkAccept, MarkAccept), Action: "RETURN"}
	AllowAndClear  = MarkAction(MarkAccept, markMask)
)

// AcceptAction is the target of a policy's Allow: the accept mark set.
var AcceptAction = MarkAction(MarkAccept, MarkAccept)

// MarkAction is the target setting the mark bits of mask to value.
func MarkAction(value, mask uint32) string {
	return fmt.Sprintf("MARK --set-xmark %#x/%#x", value, mask)
}

// MarkMatch matches packets whose mark bits of mask are value.
func MarkMatch(value, mask uint32) string { return fmt.Sprintf("-m mark --mark %#x/%#x", value, mask) }

// unlessMarked is the match of the i-th jump after the mark bits of mask
// were cleared: none for the first (nothing can have set them), and
// "none of them set" after it. One rule in four of a group chain, three
// expressions fewer in nftables.
func unlessMarked(i int, mask uint32) string {
	if i == 0 {
		return ""
	}
	return MarkMatch(0, mask)
}
