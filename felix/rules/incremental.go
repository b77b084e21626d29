package rules

import (
	"maps"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// Renderer renders like Render and keeps what it rendered, so that the
// next render re-renders only what changed (a Renderer is what Render
// uses, once). Cached chains are keyed by exactly what shapes them:
//
//   - a policy's chains by the *calc.Policy (the model compiles a new one
//     on every change), a profile's by the *calc.Profile;
//   - a group chain by its name, a hash of its tiers (with their
//     defaultAction), ordered policy keys and profiles;
//   - an endpoint's chains by the *calc.Endpoint and the policies its
//     lists hold (and the tiers they are in);
//   - all of them by the IP version, log prefix and flow-log group: a
//     change of those drops every cache.
//
// Policy, profile and group chains are reference counted by the chains
// that jump to them and dropped with the last. The top-level chains and
// the host endpoints' chains (few) are rendered every time; the dispatch
// chains whenever the set of endpoints changes. A Result shares the rule
// slices of the chains that did not change, and its Delta names those that
// did. Not safe for concurrent use.
type Renderer struct {
	key   renderKey
	valid bool
	gen   uint64
	eps   map[string]*epEntry // by interface name
	// groups by chain name; policies by key; profiles by name.
	groups   map[string]*groupEntry
	policies map[string]*ruleEntry
	profiles map[string]*ruleEntry
	// policiesDirty: the policies whose entry changed (object, references)
	// since the last render, the only ones renderRuleChains visits.
	policiesDirty map[string]bool
	tiers         map[string]*resources.Tier // the tiers group names were made from
	// transient: the groups and policies the last render's uncached
	// chains referred to (host endpoints).
	transientGroups   map[string]bool
	transientPolicies map[string]bool
	transientChains   map[string]bool // the uncached chains of the last render
	dispatch          [2][]ipt.Rule   // from, to
	// dispatchRules are each interface's two dispatch rules (made once);
	// dispatchMoved the interfaces whose rules came or went since the last
	// Result (Delta.Dispatch).
	dispatchRules map[string][2]ipt.Rule
	dispatchMoved map[string]bool
	// ifaceOf is every endpoint's interface in the last render (those
	// with one), ifaceCount how many endpoints had each interface.
	ifaceOf    map[string]string
	ifaceCount map[string]int
	// chains holds every chain of the last Result (gotos rendered); sorted
	// is its Chains.
	chains map[string][]ipt.Rule
	sorted []ipt.Chain
	// sets are the IP sets of the cached chains; setOut the last Result's
	// IPSets; transientSets those of its uncached chains (sets.go).
	sets          map[string]*setEntry
	setsTouched   map[string]bool
	transientSets map[string][]netip.Prefix
	setOut        cowMap[[]netip.Prefix]
	tracker       Tracker // the Source, when it tracks changes
	epoch         uint64  // its Epoch at the last render
	tracked       bool    // this render follows the last by one epoch of tracker
	// the cached chains' rule IDs (flow logs), counted by prefix; idOut
	// the last Result's RuleIDs.
	idRefs       map[string]int
	idVals       map[string]RuleID
	idsTouched   map[string]bool
	transientIDs map[string]RuleID
	idOut        cowMap[RuleID]
	// touched: chains set or removed by the current render, with what the
	// last Result held.
	touched map[string]prevChain
}

type renderKey struct {
	ipVersion    int
	logPrefix    string
	flowLogGroup uint16
}

type epEntry struct {
	ep     *calc.Endpoint
	lists  [2][]*calc.Policy // by calc.Direction
	groups [2]string
	ids    map[string]RuleID
	gen    uint64
}

type groupEntry struct {
	refs     int
	policies []string // keys
	profiles []string
	ids      map[string]RuleID
}

// ruleEntry is a policy's or profile's pair of chains.
type ruleEntry struct {
	refs   int
	pol    *calc.Policy
	prof   *calc.Profile
	stale  bool // pol or prof changed since its chains were rendered
	sets   []setRef
	ids    map[string]RuleID
	chains bool // its chains are in Renderer.chains
}

type setRef struct {
	name string
	sel  selector.Selector
}

type prevChain struct {
	rules   []ipt.Rule
	existed bool
}

func (rd *Renderer) reset(key renderKey) {
	*rd = Renderer{key: key, eps: map[string]*epEntry{}, groups: map[string]*groupEntry{},
		dispatchRules: map[string][2]ipt.Rule{}, ifaceOf: map[string]string{}, ifaceCount: map[string]int{},
		policies: map[string]*ruleEntry{}, profiles: map[string]*ruleEntry{}, tiers: map[string]*resources.Tier{},
		policiesDirty:   map[string]bool{},
		transientGroups: map[string]bool{}, transientPolicies: map[string]bool{}, transientChains: map[string]bool{},
		chains: map[string][]ipt.Rule{},
		sets:   map[string]*setEntry{}, setsTouched: map[string]bool{},
		idRefs: map[string]int{}, idVals: map[string]RuleID{}, idsTouched: map[string]bool{}}
}

// Render renders the policy of node's local endpoints, re-rendering only
// what changed since the last call (see Renderer).
func (rd *Renderer) Render(m Source, node string, cfg Config) Result {
	if cfg.LogPrefix == "" {
		cfg.LogPrefix = "calico-packet: "
	}
	key := renderKey{cfg.IPVersion, cfg.LogPrefix, cfg.FlowLogGroup}
	incremental := rd.valid && rd.key == key
	if !incremental {
		rd.releaseAllSets()
		rd.reset(key)
	}
	rd.tracker, _ = m.(Tracker)
	rd.tracked = incremental && rd.tracker != nil && rd.epoch != 0 && rd.tracker.Epoch() == rd.epoch+1
	if rd.tracker != nil {
		rd.epoch = rd.tracker.Epoch()
	}
	rd.valid, rd.touched = true, map[string]prevChain{}
	rd.gen++
	r := &renderer{cfg: cfg, m: m, inc: rd, chains: map[string][]ipt.Rule{}, ipsets: map[string][]netip.Prefix{},
		policies: map[string]*calc.Policy{}, groups: map[string]bool{}, ruleIDs: map[string]RuleID{}}
	r.topLevel()
	rd.renderEndpoints(r, m.LocalEndpoints(node), rd.tiersChanged(m))
	host := r.hostEndpoints(node) // hostendpoint.go
	rd.swapTransient(r)
	rd.renderRuleChains(r)
	setsChanged, setsRemoved := rd.syncSets(r) // sets.go
	idsChanged := rd.syncIDs(r)
	res := Result{IPSets: rd.setOut.snapshot(), RuleIDs: rd.idOut.snapshot(), Raw: host.raw.table(), Mangle: host.mangle.table(),
		Inserts: map[string][]ipt.Rule{
			"FORWARD": {{Action: ChainForward}},
			"INPUT":   {{Action: ChainInput}},
			"OUTPUT":  {{Action: ChainOutput}},
		}}
	res.Chains, res.Delta = rd.output()
	res.Delta.Incremental = incremental
	res.Delta.SetsChanged, res.Delta.SetsRemoved, res.Delta.RuleIDsChanged = setsChanged, setsRemoved, idsChanged
	return res
}

// tiersChanged reports whether a tier a group name was made from changed
// (its defaultAction is part of the name): every endpoint is then
// re-rendered.
func (rd *Renderer) tiersChanged(m Source) bool {
	for name, t := range rd.tiers {
		if m.Tier(name) != t {
			clear(rd.tiers)
			return true
		}
	}
	return false
}

// samePolicies reports whether two policy lists hold the same policies
// (the same compiled objects) in the same order.
func samePolicies(a, b []*calc.Policy) bool {
	return slices.Equal(a, b)
}

// capture runs f, collecting the rule IDs it logs; they are also kept in
// r.ruleIDs.
func (r *renderer) capture(f func()) map[string]RuleID {
	if r.cfg.FlowLogGroup == 0 {
		f()
		return nil
	}
	outer := r.ruleIDs
	r.ruleIDs = map[string]RuleID{}
	f()
	ids := r.ruleIDs
	r.ruleIDs = outer
	return ids
}

// newGroup renders a group chain and registers it (with no reference).
func (rd *Renderer) newGroup(r *renderer, name string, tiers [][]*calc.Policy, profiles []string, ingress bool) {
	g := &groupEntry{profiles: profiles}
	pols := map[string]*calc.Policy{}
	var rules []ipt.Rule
	g.ids = r.capture(func() { rules = r.groupRules(tiers, profiles, ingress, pols) })
	g.policies = slices.Collect(maps.Keys(pols))
	rd.swapIDs(nil, g.ids)
	rd.groups[name] = g
	rd.setChain(name, fixGoto(rules))
}

// notePolicies records the current compiled object of each policy: a
// new one makes its chains stale.
func (rd *Renderer) notePolicies(policies []*calc.Policy) {
	for _, p := range policies {
		e := rd.policies[p.Key]
		if e == nil {
			e = &ruleEntry{stale: true}
			rd.policies[p.Key] = e
		}
		if e.pol != p {
			e.pol, e.stale = p, true
			rd.policiesDirty[p.Key] = true
		}
	}
}

// refPolicy adds n references to a policy's chains.
func (rd *Renderer) refPolicy(key string, n int) {
	rd.policies[key].refs += n
	rd.policiesDirty[key] = true
}

func (rd *Renderer) acquireGroup(name string) {
	g := rd.groups[name]
	g.refs++
	if g.refs > 1 {
		return
	}
	for _, key := range g.policies {
		rd.refPolicy(key, 1)
	}
	for _, name := range g.profiles {
		e := rd.profiles[name]
		if e == nil {
			e = &ruleEntry{stale: true}
			rd.profiles[name] = e
		}
		e.refs++
	}
}

func (rd *Renderer) releaseGroups(names [2]string) {
	for _, name := range names {
		if name != "" {
			rd.releaseGroup(name)
		}
	}
}

func (rd *Renderer) releaseGroup(name string) {
	g := rd.groups[name]
	g.refs--
	if g.refs > 0 {
		return
	}
	for _, key := range g.policies {
		rd.refPolicy(key, -1)
	}
	for _, name := range g.profiles {
		rd.profiles[name].refs--
	}
	rd.swapIDs(g.ids, nil)
	delete(rd.groups, name)
	rd.removeChain(name)
}

// swapTransient takes the references of this render's uncached chains
// (host endpoints) and drops those of the last render's, and stores the
// uncached chains.
func (rd *Renderer) swapTransient(r *renderer) {
	for _, p := range r.policies {
		rd.notePolicies([]*calc.Policy{p})
		rd.refPolicy(p.Key, 1)
	}
	for name := range r.groups {
		rd.acquireGroup(name)
	}
	for key := range rd.transientPolicies {
		rd.refPolicy(key, -1)
	}
	for name := range rd.transientGroups {
		rd.releaseGroup(name)
	}
	rd.transientPolicies = map[string]bool{}
	for key := range r.policies {
		rd.transientPolicies[key] = true
	}
	rd.transientGroups = r.groups
	seen := make(map[string]bool, len(r.chains))
	for name, rules := range r.chains {
		seen[name] = true
		rd.setChain(name, fixGoto(rules))
	}
	for name := range rd.transientChains {
		if !seen[name] {
			rd.removeChain(name)
		}
	}
	rd.transientChains = seen
}

// renderRuleChains renders the chains of the policies and profiles
// referred to whose object changed, and drops those no longer referred to.
func (rd *Renderer) renderRuleChains(r *renderer) {
	for key := range rd.policiesDirty {
		e := rd.policies[key]
		if e == nil {
			continue
		}
		switch {
		case e.refs <= 0:
			rd.dropRules(e, PolicyChain(key, true), PolicyChain(key, false))
			delete(rd.policies, key)
		case e.stale || !e.chains:
			p := e.pol
			in, out := policyRuleID(p, true), policyRuleID(p, false)
			rd.renderRules(r, e, PolicyChain(key, true), PolicyChain(key, false), func() ([]ipt.Rule, []ipt.Rule) {
				return r.ruleChain(p.Ingress, false, &in), r.ruleChain(p.Egress, false, &out)
			})
		}
	}
	clear(rd.policiesDirty)
	for name, e := range rd.profiles {
		if e.refs <= 0 {
			rd.dropRules(e, ProfileChain(name, true), ProfileChain(name, false))
			delete(rd.profiles, name)
			continue
		}
		prof := r.m.Profile(name)
		if e.chains && e.prof == prof {
			continue
		}
		e.prof = prof
		var in, out []calc.Rule
		if prof != nil {
			in, out = prof.Ingress, prof.Egress
		}
		inID, outID := profileRuleID(name, true), profileRuleID(name, false)
		rd.renderRules(r, e, ProfileChain(name, true), ProfileChain(name, false), func() ([]ipt.Rule, []ipt.Rule) {
			return r.ruleChain(in, true, &inID), r.ruleChain(out, true, &outID)
		})
	}
}

// renderRules renders an entry's ingress and egress chains, recording the
// IP sets and rule IDs they use.
func (rd *Renderer) renderRules(r *renderer, e *ruleEntry, inName, outName string, render func() (in, out []ipt.Rule)) {
	var sets []setRef
	r.sets = &sets
	var in, out []ipt.Rule
	ids := r.capture(func() { in, out = render() })
	r.sets = nil
	rd.acquireSets(sets) // sets.go
	rd.releaseSets(e.sets)
	rd.swapIDs(e.ids, ids)
	e.ids, e.sets, e.stale, e.chains = ids, sets, false, true
	rd.setChain(inName, fixGoto(in))
	rd.setChain(outName, fixGoto(out))
}

// dropRules drops an entry's chains, IP set references and rule IDs.
func (rd *Renderer) dropRules(e *ruleEntry, inName, outName string) {
	if e.chains {
		rd.removeChain(inName)
		rd.removeChain(outName)
	}
	rd.releaseSets(e.sets)
	rd.swapIDs(e.ids, nil)
	e.sets, e.ids = nil, nil
}
