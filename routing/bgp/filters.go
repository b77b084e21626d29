package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"

	api "github.com/osrg/gobgp/v3/api"
	"golang.org/x/sys/unix"
)

// Filter operators, Calico's BGPFilter matchOperator.
const (
	OpEqual    = "Equal"
	OpNotEqual = "NotEqual"
	OpIn       = "In"
	OpNotIn    = "NotIn"
)

// FilterRule is one rule of a peer's import or export filter (a BGPFilter
// rule). A route matches when every condition set matches; rules apply in
// order and the first match decides; a route no rule matches is accepted.
type FilterRule struct {
	V6   bool
	CIDR netip.Prefix // not valid: every route of the family
	Op   string       // OpEqual, OpNotEqual, OpIn or OpNotIn (with CIDR)
	// MinLen and MaxLen bound the route's prefix length for In and NotIn
	// (0: no bound).
	MinLen, MaxLen int
	// FromPeers (source RemotePeers) matches only routes learned from
	// peers on export (every imported route is).
	FromPeers bool
	// OwnOnly (an interface rule) matches only this node's own routes
	// listed in Own: those whose interface matches. It matches nothing on
	// import, nor when Own is empty.
	OwnOnly bool
	Own     []netip.Prefix
	// Community matches routes carrying it: "aa:nn" or "aa:nn:mm" (large).
	Community string
	// ASPathPrefix matches routes whose AS path starts with these.
	ASPathPrefix []uint32
	// Priority matches routes whose priority (set on import) is this.
	Priority int
	Accept   bool
	// Operations on accepted routes: communities to add, AS numbers to
	// prepend (the path then starts with them, in order) and, on import,
	// the route's priority (the kernel metric of the route installed).
	// GoBGP runs export policies after it added this node's AS for an
	// eBGP peer: there ASPathPrefix and Prepend see and precede it.
	AddCommunities []string
	Prepend        []uint32
	SetPriority    int
}

// PeerPolicy is what one peer's routes go through.
type PeerPolicy struct {
	Import, Export []FilterRule
	// KeepNextHop sends routes to the peer with their next hop unchanged
	// (BGPPeer keepOriginalNextHop; eBGP would otherwise set this node).
	KeepNextHop bool
}

// policyNames are the GoBGP objects of one generation of policies.
type policyNames struct {
	sets     []*api.DefinedSet
	policies []string
}

// syncPolicies makes GoBGP's global import and export policies match
// want. GoBGP has per-neighbor policies only for route-server clients, so
// each peer's rules become statements of one global policy per direction,
// conditioned on a neighbor set holding that peer (export policies see the
// peer a route is sent to, import policies the peer it came from). A change
// installs a new generation, switches the assignments over, deletes the
// old one and has routes already exchanged filtered anew: a soft reset
// re-reads what peers sent (GoBGP keeps it), and the sessions of peers
// whose export side changed are dropped silently (see severPeer), because
// GoBGP does not withdraw what a new export policy rejects.
func (a *applier) syncPolicies(ctx context.Context, want map[netip.Addr]PeerPolicy) error {
	if reflect.DeepEqual(a.policies, want) || (len(a.policies) == 0 && len(want) == 0) {
		return nil
	}
	a.policyGen++
	next := policyNames{}
	imp, exp, err := a.addPolicies(ctx, want, &next)
	if err == nil {
		err = errors.Join(a.assign(ctx, api.PolicyDirection_IMPORT, imp, &next), a.assign(ctx, api.PolicyDirection_EXPORT, exp, &next))
	}
	if err != nil {
		a.deletePolicies(ctx, next)
		return fmt.Errorf("BGP filters: %w", err)
	}
	a.deletePolicies(ctx, a.installed)
	old := a.policies
	a.installed, a.policies = next, clonePolicies(want)
	a.s.mu.Lock()
	a.s.priorities = len(want) > 0
	a.s.mu.Unlock()
	if len(a.peers) > 0 {
		if err := a.srv.ResetPeer(ctx, &api.ResetPeerRequest{Address: "all", Soft: true, Direction: api.ResetPeerRequest_IN}); err != nil {
			a.s.log.Warn("Soft reset after a BGP filter change", "err", err)
		}
	}
	for addr, p := range a.peers {
		o, w := old[addr], want[addr]
		if o.KeepNextHop != w.KeepNextHop || !reflect.DeepEqual(o.Export, w.Export) {
			n := severPeer(a.global.RouterID, addr)
			if a.global.IPv6.IsValid() {
				n += severPeer(a.global.IPv6, addr)
			}
			a.s.log.Info("BGP session restarted gracefully for its new export filter", "peer", p.String(), "sockets", n)
		}
	}
	a.s.log.Info("BGP filters applied", "peers", len(want))
	return nil
}

// addPolicies adds the defined sets and the import and export policies of
// want (generation a.policyGen), recording them in names.
func (a *applier) addPolicies(ctx context.Context, want map[netip.Addr]PeerPolicy, names *policyNames) (imp, exp []*api.Statement, err error) {
	peers := slices.SortedFunc(func(yield func(netip.Addr) bool) {
		for p := range want {
			if !yield(p) {
				return
			}
		}
	}, netip.Addr.Compare)
	for _, peer := range peers {
		pp := want[peer]
		nbr := fmt.Sprintf("calico-%d-peer-%s", a.policyGen, peer)
		names.sets = append(names.sets, &api.DefinedSet{DefinedType: api.DefinedType_NEIGHBOR, Name: nbr,
			List: []string{netip.PrefixFrom(peer, peer.BitLen()).String()}})
		if pp.KeepNextHop {
			exp = append(exp, &api.Statement{Name: nbr + "-nexthop",
				Conditions: &api.Conditions{NeighborSet: &api.MatchSet{Name: nbr}},
				Actions:    &api.Actions{RouteAction: api.RouteAction_NONE, Nexthop: &api.NexthopAction{Unchanged: true}}})
		}
		imp = append(imp, a.statements(nbr+"-import", nbr, pp.Import, false, names)...)
		exp = append(exp, a.statements(nbr+"-export", nbr, pp.Export, true, names)...)
	}
	if len(want) > 0 {
		// Priorities never come from peers nor go to them (see priorityTag).
		gen := fmt.Sprintf("calico-%d", a.policyGen)
		imp = append([]*api.Statement{stripStatement(gen + "-import-priorities")}, imp...)
		exp = append(exp, stripStatement(gen+"-export-priorities"))
	}
	for _, s := range names.sets {
		if err := a.srv.AddDefinedSet(ctx, &api.AddDefinedSetRequest{DefinedSet: s}); err != nil {
			return nil, nil, fmt.Errorf("add set %s: %w", s.Name, err)
		}
	}
	return imp, exp, nil
}

// statements turns rules into GoBGP statements named prefix-<i>..., each
// conditioned on neighbor set nbr; their sets go into names.
func (a *applier) statements(prefix, nbr string, rules []FilterRule, export bool, names *policyNames) []*api.Statement {
	var out []*api.Statement
	for i, r := range rules {
		b := ruleStmts{name: fmt.Sprintf("%s-%d", prefix, i), export: export}
		b.rule(nbr, r)
		names.sets = append(names.sets, b.sets...)
		out = append(out, b.stmts...)
	}
	return out
}

// prefixSet is the prefix set of a rule with a CIDR, and whether the
// condition inverts it (NotEqual, NotIn).
func prefixSet(name string, r FilterRule) (*api.DefinedSet, bool) {
	bits, maxBits := r.CIDR.Bits(), r.CIDR.Addr().BitLen()
	lo, hi := bits, bits // Equal, NotEqual
	if r.Op == OpIn || r.Op == OpNotIn {
		lo, hi = max(bits, r.MinLen), maxBits
		if r.MaxLen > 0 {
			hi = min(hi, r.MaxLen)
		}
	}
	set := &api.DefinedSet{DefinedType: api.DefinedType_PREFIX, Name: name + "-prefixes", Prefixes: []*api.Prefix{{
		IpPrefix: r.CIDR.Masked().String(), MaskLengthMin: uint32(lo), MaskLengthMax: uint32(hi)}}}
	return set, r.Op == OpNotEqual || r.Op == OpNotIn
}

// assign makes a global policy of statements (none: no policy) the one
// applied in direction dir, routes no statement decides being accepted;
// the policy's name goes into names.
func (a *applier) assign(ctx context.Context, dir api.PolicyDirection, stmts []*api.Statement, names *policyNames) error {
	var pols []*api.Policy
	if len(stmts) > 0 {
		name := fmt.Sprintf("calico-%d-%s", a.policyGen, map[api.PolicyDirection]string{
			api.PolicyDirection_IMPORT: "import", api.PolicyDirection_EXPORT: "export"}[dir])
		if err := a.srv.AddPolicy(ctx, &api.AddPolicyRequest{Policy: &api.Policy{Name: name, Statements: stmts}}); err != nil {
			return fmt.Errorf("add policy %s: %w", name, err)
		}
		names.policies = append(names.policies, name)
		pols = []*api.Policy{{Name: name}}
	}
	return a.srv.SetPolicyAssignment(ctx, &api.SetPolicyAssignmentRequest{Assignment: &api.PolicyAssignment{
		Name: "global", Direction: dir, Policies: pols, DefaultAction: api.RouteAction_ACCEPT}})
}

// deletePolicies removes a generation's policies (with their statements)
// and sets; failures are only logged (the names are never reused).
func (a *applier) deletePolicies(ctx context.Context, n policyNames) {
	for _, p := range n.policies {
		if err := a.srv.DeletePolicy(ctx, &api.DeletePolicyRequest{Policy: &api.Policy{Name: p}, All: true}); err != nil {
			a.s.log.Debug("Deleting an old BGP policy", "policy", p, "err", err)
		}
	}
	for _, s := range n.sets {
		if err := a.srv.DeleteDefinedSet(ctx, &api.DeleteDefinedSetRequest{DefinedSet: s, All: true}); err != nil {
			a.s.log.Debug("Deleting an old BGP set", "set", s.Name, "err", err)
		}
	}
}

func clonePolicies(m map[netip.Addr]PeerPolicy) map[netip.Addr]PeerPolicy {
	out := make(map[netip.Addr]PeerPolicy, len(m))
	for k, v := range m {
		out[k] = PeerPolicy{Import: slices.Clone(v.Import), Export: slices.Clone(v.Export), KeepNextHop: v.KeepNextHop}
	}
	return out
}

// severPeer drops the sessions between local and peer without a
// NOTIFICATION (see severSessions): the peer keeps our routes as stale
// (graceful restart), the session comes back, we send what the export
// policy accepts now and End-of-RIB, and the peer removes the rest. A
// peer without graceful restart sees our routes go and come back.
func severPeer(local, peer netip.Addr) int {
	return severSockets(func(fd int) bool {
		if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || typ != unix.SOCK_STREAM {
			return false
		}
		la, _, ok := inetAddr(unix.Getsockname(fd))
		ra, _, ok2 := inetAddr(unix.Getpeername(fd))
		return ok && ok2 && la == local && ra == peer
	})
}
