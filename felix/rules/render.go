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

type renderer struct {
	cfg      Config
	m        Source
	chains   map[string][]ipt.Rule
	ipsets   map[string][]netip.Prefix
	policies map[string]*calc.Policy // needed policy chains
	profiles map[string]bool
	ruleIDs  map[string]RuleID // NFLOG prefix -> rule (nflog.go)
}

// Render renders the policy of node's local endpoints.
func Render(m Source, node string, cfg Config) Result {
	if cfg.LogPrefix == "" {
		cfg.LogPrefix = "calico-packet: "
	}
	r := &renderer{cfg: cfg, m: m, chains: map[string][]ipt.Rule{}, ipsets: map[string][]netip.Prefix{},
		policies: map[string]*calc.Policy{}, profiles: map[string]bool{}, ruleIDs: map[string]RuleID{}}
	r.topLevel()
	var fromDispatch, toDispatch []ipt.Rule
	for _, ep := range m.LocalEndpoints(node) {
		if ep.IfaceName == "" {
			continue
		}
		fromDispatch = append(fromDispatch, ipt.Rule{Match: "-i " + ep.IfaceName, Action: "goto " + EndpointChain(ep.IfaceName, true)})
		toDispatch = append(toDispatch, ipt.Rule{Match: "-o " + ep.IfaceName, Action: "goto " + EndpointChain(ep.IfaceName, false)})
		r.endpoint(ep)
	}
	drop := ipt.Rule{Action: "DROP"}
	r.chains[ChainFromDispatch] = append(fromDispatch, drop)
	r.chains[ChainToDispatch] = append(toDispatch, drop)
	host := r.hostEndpoints(node) // hostendpoint.go
	for key, p := range r.policies {
		in, out := policyRuleID(p, true), policyRuleID(p, false)
		r.chains[PolicyChain(key, true)] = r.ruleChain(p.Ingress, false, &in)
		r.chains[PolicyChain(key, false)] = r.ruleChain(p.Egress, false, &out)
	}
	for name := range r.profiles {
		prof := m.Profile(name)
		var in, out []calc.Rule
		if prof != nil {
			in, out = prof.Ingress, prof.Egress
		}
		inID, outID := profileRuleID(name, true), profileRuleID(name, false)
		r.chains[ProfileChain(name, true)] = r.ruleChain(in, true, &inID)
		r.chains[ProfileChain(name, false)] = r.ruleChain(out, true, &outID)
	}
	res := Result{IPSets: r.ipsets, RuleIDs: r.ruleIDs, Raw: host.raw.table(), Mangle: host.mangle.table(), Inserts: map[string][]ipt.Rule{
		"FORWARD": {{Action: ChainForward}},
		"INPUT":   {{Action: ChainInput}},
		"OUTPUT":  {{Action: ChainOutput}},
	}}
	res.Chains = sortedChains(r.chains)
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

func (r *renderer) endpoint(ep *calc.Endpoint) {
	fw, tw := EndpointChain(ep.IfaceName, true), EndpointChain(ep.IfaceName, false)
	if ep.Pending {
		r.chains[fw] = r.logged(prePolicyRuleID(PrePolicyPending, false), false, ipt.Rule{Action: "DROP"})
		r.chains[tw] = r.logged(prePolicyRuleID(PrePolicyPending, true), false, ipt.Rule{Action: "DROP"})
		return
	}
	// From the workload: anti-spoofing, then egress policy.
	spoofed := prePolicyRuleID(PrePolicyAntiSpoofing, false)
	var fwRules []ipt.Rule
	if len(ep.MAC) > 0 {
		fwRules = r.logged(spoofed, false, ipt.Rule{Match: "-m mac ! --mac-source " + ep.MAC.String(), Action: "DROP"})
	}
	egress := r.group(ep, calc.Egress)
	for _, a := range ep.Addrs {
		if a.Addr().Is4() == (r.cfg.IPVersion == 4) {
			fwRules = append(fwRules, ipt.Rule{Match: "-s " + a.String(), Action: "goto " + egress})
		}
	}
	r.chains[fw] = append(fwRules, r.logged(spoofed, false, ipt.Rule{Action: "DROP"})...)
	r.chains[tw] = []ipt.Rule{{Action: "goto " + r.group(ep, calc.Ingress)}}
}

// group returns (and renders once) the chain for an endpoint's ordered
// policy list and profile list in one direction. It returns to the caller
// only when the packet is allowed.
//
// As Calico's felix: one block per tier that has a policy selecting ep,
// in tier order. A block clears the marks and jumps to its policies in
// order while neither mark is set (Allow sets the accept mark, Pass the
// pass mark, Deny drops); an accepted packet returns; one no policy passed
// meets the tier's defaultAction (Deny: the end-of-tier drop; Pass: the
// next block). Profiles come after the last block, reached only when no
// tier selected ep or the last one passed. Rules: linear in policies,
// tiers and profiles.
func (r *renderer) group(ep *calc.Endpoint, dir calc.Direction) string {
	return r.groupOf(r.m.PoliciesFor(ep, dir), ep.Profiles, dir == calc.Ingress)
}

// groupOf is group for a policy list (in evaluation order) and profiles.
func (r *renderer) groupOf(policies []*calc.Policy, profiles []string, ingress bool) string {
	tiers := calc.TierGroups(policies)
	var sig strings.Builder
	for _, pols := range tiers {
		t := r.m.Tier(pols[0].Tier)
		fmt.Fprintf(&sig, "%s:%s[", t.Name, t.Spec.DefaultAction)
		for _, p := range pols {
			sig.WriteString(p.Key + ",")
		}
		sig.WriteString("]")
	}
	sig.WriteString("|" + strings.Join(profiles, ","))
	name := groupChain(sig.String(), ingress)
	if _, done := r.chains[name]; done {
		return name
	}
	var rules []ipt.Rule
	for _, pols := range tiers {
		rules = append(rules, r.tierBlock(pols, ingress, r.policies, true)...)
	}
	rules = append(rules, ipt.Rule{Action: markAction(0, markMask)})
	for _, prof := range profiles {
		r.profiles[prof] = true
		rules = append(rules, ipt.Rule{Match: markMatch(0, MarkAccept), Action: ProfileChain(prof, ingress)})
	}
	rules = append(rules, ipt.Rule{Match: markMatch(MarkAccept, MarkAccept), Action: "RETURN"})
	defaultDrop := &RuleID{Rule: -1, Direction: direction(ingress), Trigger: TriggerDefaultDeny}
	r.chains[name] = append(rules, r.logged(defaultDrop, false, ipt.Rule{Action: "DROP"})...)
	return name
}

// tierBlock renders one tier's policies (pols, in order, all of one tier)
// for a group chain, registering them in chains (the policies whose chains
// the table needs). endDrop renders the end-of-tier drop of a tier whose
// defaultAction is Deny (untracked and pre-DNAT host policy has none).
func (r *renderer) tierBlock(pols []*calc.Policy, ingress bool, chains map[string]*calc.Policy, endDrop bool) []ipt.Rule {
	rules := []ipt.Rule{{Action: markAction(0, markMask)}}
	for _, p := range pols {
		chains[p.Key] = p
		rules = append(rules, ipt.Rule{Match: markMatch(0, markMask), Action: PolicyChain(p.Key, ingress)})
	}
	rules = append(rules, ipt.Rule{Match: markMatch(MarkAccept, MarkAccept), Action: "RETURN"})
	if endDrop && r.m.Tier(pols[0].Tier).Spec.DefaultAction != resources.TierActionPass {
		endOfTier := &RuleID{Tier: pols[0].Tier, Rule: -1, Direction: direction(ingress), Trigger: TriggerEndOfTier}
		rules = append(rules, r.logged(endOfTier, false, ipt.Rule{Match: markMatch(0, MarkPass), Action: "DROP"})...)
	}
	return rules
}

func markAction(value, mask uint32) string {
	return fmt.Sprintf("MARK --set-xmark %#x/%#x", value, mask)
}
func markMatch(value, mask uint32) string { return fmt.Sprintf("-m mark --mark %#x/%#x", value, mask) }
