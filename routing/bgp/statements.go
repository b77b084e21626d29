package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	api "github.com/osrg/gobgp/v3/api"
	"google.golang.org/protobuf/proto"
)

// A route's priority (Calico's BGPFilter priority: the kernel metric of a
// learned route) is not a BGP attribute. Import policies carry it as a
// large community of reserved AS 4294967295 (RFC 7300):
// setPriority adds 4294967295:1:<priority>; every import policy first
// removes such communities a peer sent, and every export policy removes
// them before a route leaves (each accepting statement, then a last
// statement for routes no rule decided), so they never reach a peer.
// (A large community, because GoBGP removes the attribute once its last
// large community is removed, while it would send an empty extended
// communities attribute, which peers treat as malformed.)
const priorityTag = "4294967295:1:"

var priorityStrip = &api.CommunityAction{Type: api.CommunityAction_REMOVE, Communities: []string{"^" + priorityTag + `\d+$`}}

func stripStatement(name string) *api.Statement {
	return &api.Statement{Name: name, Actions: &api.Actions{RouteAction: api.RouteAction_NONE, LargeCommunity: priorityStrip}}
}

func priorityCommunity(p int) string { return fmt.Sprintf("%s%d", priorityTag, p) }

// ruleStmts is what one rule becomes: statements, and the defined sets
// they use.
type ruleStmts struct {
	name   string // unique prefix of the rule's statements and sets
	export bool
	stmts  []*api.Statement
	sets   []*api.DefinedSet
}

// rule adds the statements of r, conditioned on neighbor set nbr. A rule
// that can match nothing (an interface rule no own route satisfies, or
// one asking for own routes learned from peers) adds none.
func (b *ruleStmts) rule(nbr string, r FilterRule) {
	cond := &api.Conditions{NeighborSet: &api.MatchSet{Name: nbr}, AfiSafiIn: []*api.Family{familyFor(r.V6)}}
	switch {
	case r.OwnOnly && (r.FromPeers || !b.export):
		return
	case r.OwnOnly:
		own := ownMatching(r)
		if len(own) == 0 {
			return
		}
		b.sets = append(b.sets, exactSet(b.name+"-own", own))
		cond.PrefixSet = &api.MatchSet{Name: b.name + "-own"}
		cond.RouteType = api.Conditions_ROUTE_TYPE_LOCAL
	case r.CIDR.IsValid():
		set, invert := prefixSet(b.name, r)
		b.sets = append(b.sets, set)
		cond.PrefixSet = &api.MatchSet{Name: set.Name}
		if invert {
			cond.PrefixSet.Type = api.MatchSet_INVERT
		}
	}
	var large []string // every one must be on the route
	if strings.Count(r.Community, ":") == 2 {
		large = append(large, "^"+r.Community+"$")
	} else if r.Community != "" {
		name := b.name + "-community"
		b.sets = append(b.sets, &api.DefinedSet{DefinedType: api.DefinedType_COMMUNITY, Name: name, List: []string{"^" + r.Community + "$"}})
		cond.CommunitySet = &api.MatchSet{Name: name}
	}
	if r.Priority > 0 {
		large = append(large, "^"+priorityCommunity(r.Priority)+"$")
	}
	if len(large) > 0 {
		name := b.name + "-large"
		b.sets = append(b.sets, &api.DefinedSet{DefinedType: api.DefinedType_LARGE_COMMUNITY, Name: name, List: large})
		cond.LargeCommunitySet = &api.MatchSet{Name: name, Type: api.MatchSet_ALL}
	}
	if r.FromPeers && b.export {
		// Calico's source RemotePeers: learned over iBGP or eBGP, not
		// originated here. (Imported routes all come from peers.)
		for i, rt := range []api.Conditions_RouteType{api.Conditions_ROUTE_TYPE_INTERNAL, api.Conditions_ROUTE_TYPE_EXTERNAL} {
			c := clone(cond)
			c.RouteType = rt
			b.chain(fmt.Sprintf("%s-src%d", b.name, i), c, r)
		}
		return
	}
	b.chain(b.name, cond, r)
}

// chain adds the statements applying r to routes matching cond: the
// action, with r's operations. A statement prepends one AS number
// (repeated), so an AS path prefix of several numbers is prepended by
// statements that modify and go on (route action NONE), last number
// first, before the deciding one; each statement's AS path condition
// (asPathPrefix) allows for what was prepended before it. Operations only
// add, so the other conditions still hold after them.
func (b *ruleStmts) chain(name string, cond *api.Conditions, r FilterRule) {
	runs := prependRuns(r.Prepend)
	var steps []*api.Actions
	var done [][]uint32 // what was prepended before each step
	var front []uint32
	for len(runs) > 1 {
		run := runs[len(runs)-1]
		runs = runs[:len(runs)-1]
		steps, done = append(steps, &api.Actions{AsPrepend: &api.AsPrependAction{Asn: run.asn, Repeat: uint32(run.n)}}), append(done, front)
		front = append(repeated(run), front...)
	}
	final := &api.Actions{}
	if len(runs) == 1 {
		final.AsPrepend = &api.AsPrependAction{Asn: runs[0].asn, Repeat: uint32(runs[0].n)}
	}
	if pre := b.finish(final, r); pre != nil {
		steps, done = append(steps, pre), append(done, front)
	}
	steps, done = append(steps, final), append(done, front)
	for i, act := range steps {
		c := clone(cond)
		if len(r.ASPathPrefix) > 0 {
			set := fmt.Sprintf("%s-aspath%d", name, i)
			b.sets = append(b.sets, asPathSet(set, append(slices.Clone(done[i]), r.ASPathPrefix...)))
			c.AsPathSet = &api.MatchSet{Name: set}
		}
		b.stmts = append(b.stmts, &api.Statement{Name: fmt.Sprintf("%s-%d", name, i), Conditions: c, Actions: act})
	}
}

// finish sets the deciding statement's actions. On export it removes
// priorities (see priorityTag); large communities to add then go in a step
// before it, which it returns.
func (b *ruleStmts) finish(a *api.Actions, r FilterRule) (pre *api.Actions) {
	a.RouteAction = api.RouteAction_REJECT
	if !r.Accept {
		return nil
	}
	a.RouteAction = api.RouteAction_ACCEPT
	var std, large []string
	for _, c := range r.AddCommunities {
		if strings.Count(c, ":") == 2 {
			large = append(large, c)
		} else {
			std = append(std, c)
		}
	}
	if len(std) > 0 {
		a.Community = &api.CommunityAction{Type: api.CommunityAction_ADD, Communities: std}
	}
	if b.export {
		a.LargeCommunity = priorityStrip
		if len(large) > 0 {
			pre = &api.Actions{RouteAction: api.RouteAction_NONE, LargeCommunity: &api.CommunityAction{Type: api.CommunityAction_ADD, Communities: large}}
		}
		return pre
	}
	if r.SetPriority > 0 {
		large = append(large, priorityCommunity(r.SetPriority))
	}
	if len(large) > 0 {
		a.LargeCommunity = &api.CommunityAction{Type: api.CommunityAction_ADD, Communities: large}
	}
	return nil
}

type prependRun struct {
	asn uint32
	n   int
}

func repeated(r prependRun) []uint32 {
	out := make([]uint32, r.n)
	for i := range out {
		out[i] = r.asn
	}
	return out
}

// prependRuns groups an AS path prefix into runs of one AS number.
func prependRuns(asns []uint32) []prependRun {
	var out []prependRun
	for _, a := range asns {
		if n := len(out); n > 0 && out[n-1].asn == a {
			out[n-1].n++
			continue
		}
		out = append(out, prependRun{asn: a, n: 1})
	}
	return out
}

// asPathSet matches AS paths starting with asns (GoBGP's "_" is an AS
// number boundary).
func asPathSet(name string, asns []uint32) *api.DefinedSet {
	var sb strings.Builder
	sb.WriteString("^")
	for _, a := range asns {
		sb.WriteString(strconv.FormatUint(uint64(a), 10) + "_")
	}
	return &api.DefinedSet{DefinedType: api.DefinedType_AS_PATH, Name: name, List: []string{sb.String()}}
}

// exactSet is a prefix set of exactly ps.
func exactSet(name string, ps []netip.Prefix) *api.DefinedSet {
	set := &api.DefinedSet{DefinedType: api.DefinedType_PREFIX, Name: name}
	for _, p := range ps {
		set.Prefixes = append(set.Prefixes, &api.Prefix{IpPrefix: p.String(), MaskLengthMin: uint32(p.Bits()), MaskLengthMax: uint32(p.Bits())})
	}
	return set
}

// ownMatching is the own routes of an interface rule that also satisfy
// its family and CIDR condition.
func ownMatching(r FilterRule) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range r.Own {
		if p.Addr().Is6() == r.V6 && (!r.CIDR.IsValid() || cidrMatches(r, p)) {
			out = append(out, p)
		}
	}
	return out
}

// cidrMatches applies a rule's CIDR condition to p, as its prefix set
// does.
func cidrMatches(r FilterRule, p netip.Prefix) bool {
	c := r.CIDR.Masked()
	switch r.Op {
	case OpEqual:
		return p.Masked() == c
	case OpNotEqual:
		return p.Masked() != c
	}
	hi := p.Addr().BitLen()
	if r.MaxLen > 0 {
		hi = r.MaxLen
	}
	in := c.Contains(p.Addr()) && p.Bits() >= max(c.Bits(), r.MinLen) && p.Bits() <= hi
	return in == (r.Op == OpIn)
}

func familyFor(v6 bool) *api.Family {
	if v6 {
		return ipv6Unicast
	}
	return ipv4Unicast
}

func clone(c *api.Conditions) *api.Conditions {
	return proto.Clone(c).(*api.Conditions)
}
