package rules

import (
	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// hostTable is the raw or mangle table being rendered: chains, inserts
// into built-in chains, and the policies whose chains it needs.
type hostTable struct {
	chains   map[string][]ipt.Rule
	inserts  map[string][]ipt.Rule
	policies map[string]*calc.Policy
}

func newHostTable() *hostTable {
	return &hostTable{chains: map[string][]ipt.Rule{}, inserts: map[string][]ipt.Rule{}, policies: map[string]*calc.Policy{}}
}

// table returns the rendered state; a nil table is empty (applying it
// removes our chains and inserts).
func (t *hostTable) table() Table {
	if t == nil {
		return Table{}
	}
	return Table{Chains: sortedChains(t.chains), Inserts: t.inserts}
}

// policyChains renders the chains of the policies the table's endpoint
// chains jump to.
func (r *renderer) policyChains(t *hostTable) {
	for key, p := range t.policies {
		t.chains[PolicyChain(key, true)] = r.ruleChain(p.Ingress, false, nil) // untracked: no flow logs
		t.chains[PolicyChain(key, false)] = r.ruleChain(p.Egress, false, nil)
	}
}

// hostTiers renders the tier blocks of a host endpoint's policies of a
// kind for the raw or mangle table: no end-of-tier drop (normal policy in
// the filter table still follows) and no profiles.
func (r *renderer) hostTiers(t *hostTable, pols []*calc.Policy, ingress bool) []ipt.Rule {
	var rules []ipt.Rule
	for _, tier := range calc.TierGroups(pols) {
		rules = append(rules, r.tierBlock(tier, ingress, t.policies, false)...)
	}
	return rules
}

// hostRaw renders the raw table: doNotTrack policy of named host
// endpoints (Calico supports none on the all-interfaces one). Our mark
// bits are cleared first; a packet an untracked policy allows is marked
// accepted, exempted from connection tracking and accepted (the filter
// table then accepts it by its mark). Failsafe ports are accepted before
// policy in both directions: with no connection tracking here, the
// replies of failsafe flows (source port) too.
func (r *renderer) hostRaw(hs HostSource, heps []*calc.HostEndpoint) *hostTable {
	t := newHostTable()
	cfg := r.cfg.HostEndpoints
	t.chains[ChainFailsafeIn] = r.failsafes(cfg.Failsafes(calc.HostUntracked, calc.Ingress), true)
	t.chains[ChainFailsafeOut] = r.failsafes(cfg.Failsafes(calc.HostUntracked, calc.Egress), false)
	var named []*calc.HostEndpoint
	for _, h := range heps {
		if h.AllInterfaces() {
			continue
		}
		named = append(named, h)
		t.chains[HostEndpointChain("fh", h.IfaceName)] = append(r.hostChecks(calc.HostUntracked, true),
			r.hostTiers(t, hs.HostPoliciesFor(h, calc.HostUntracked, calc.Ingress), true)...)
		t.chains[HostEndpointChain("th", h.IfaceName)] = append(r.hostChecks(calc.HostUntracked, false),
			r.hostTiers(t, hs.HostPoliciesFor(h, calc.HostUntracked, calc.Egress), false)...)
	}
	t.chains[ChainFromHostEndpoint] = dispatch(named, "-i", "fh")
	t.chains[ChainToHostEndpoint] = dispatch(named, "-o", "th")
	accepted := MarkMatch(MarkAccept, MarkAccept)
	verdict := func(dispatchChain string) []ipt.Rule {
		return []ipt.Rule{
			{Action: MarksCleared},
			{Action: dispatchChain},
			{Match: accepted, Action: "NOTRACK"},
			{Match: accepted, Action: "ACCEPT"},
		}
	}
	t.chains[ChainPrerouting] = verdict(ChainFromHostEndpoint)
	t.chains[ChainRawOutput] = verdict(ChainToHostEndpoint)
	t.inserts["PREROUTING"] = []ipt.Rule{{Action: ChainPrerouting}}
	t.inserts["OUTPUT"] = []ipt.Rule{{Action: ChainRawOutput}}
	r.policyChains(t)
	return t
}

// hostMangle renders the mangle table: preDNAT policy (ingress only), for
// every host endpoint and whatever the packet's destination (a local
// workload included). Established flows and packets untracked policy
// allowed skip it; failsafe ports are accepted before policy; a packet
// pre-DNAT policy allows is marked accepted (the filter table then
// accepts it without normal policy); one it neither allows nor denies
// goes on to normal policy.
func (r *renderer) hostMangle(hs HostSource, heps []*calc.HostEndpoint) *hostTable {
	t := newHostTable()
	t.chains[ChainFailsafeIn] = r.failsafes(r.cfg.HostEndpoints.Failsafes(calc.HostPreDNAT, calc.Ingress), true)
	for _, h := range heps {
		t.chains[HostEndpointChain("fh", h.IfaceName)] = append(r.hostChecks(calc.HostPreDNAT, true),
			r.hostTiers(t, hs.HostPoliciesFor(h, calc.HostPreDNAT, calc.Ingress), true)...)
	}
	t.chains[ChainFromHostEndpoint] = dispatch(heps, "-i", "fh")
	accepted := MarkMatch(MarkAccept, MarkAccept)
	t.chains[ChainPrerouting] = []ipt.Rule{
		{Match: "-m conntrack --ctstate RELATED,ESTABLISHED", Action: "ACCEPT"},
		{Match: accepted, Action: "ACCEPT"},
		{Action: ChainFromHostEndpoint},
		{Match: accepted, Action: "ACCEPT"},
	}
	t.inserts["PREROUTING"] = []ipt.Rule{{Action: ChainPrerouting}}
	r.policyChains(t)
	return t
}
