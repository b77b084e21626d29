package rules

import (
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// The Renderer's endpoint chains: re-rendered when an endpoint or its
// policy lists changed, with the dispatch chains when the set of
// endpoints did.

// renderEndpoints renders the chains of the endpoints that changed (or
// whose policy lists did) and, when the set of endpoints changed, the
// dispatch chains; it drops the chains of endpoints gone.
func (rd *Renderer) renderEndpoints(r *renderer, eps []*calc.Endpoint, all bool) {
	if !all && rd.dispatch[0] != nil && rd.renderChangedEndpoints(r, eps) {
		return
	}
	first := rd.dispatch[0] == nil
	moved := func(iface string) {
		if !first {
			if rd.dispatchMoved == nil {
				rd.dispatchMoved = map[string]bool{}
			}
			rd.dispatchMoved[iface] = true
		}
	}
	changedSet := first
	for _, ep := range eps {
		if ep.IfaceName == "" {
			continue
		}
		e := rd.eps[ep.IfaceName]
		if e == nil || e.gen == rd.gen || e.ep.Key != ep.Key {
			// new, or (two endpoints with one interface) the last wins, as rendered
			changedSet = true
			moved(ep.IfaceName)
		}
		rd.refreshEndpoint(r, e, ep, all)
	}
	for iface, e := range rd.eps {
		if e.gen != rd.gen {
			changedSet = true
			moved(iface)
			rd.releaseGroups(e.groups)
			rd.swapIDs(e.ids, nil)
			rd.removeChain(EndpointChain(iface, true))
			rd.removeChain(EndpointChain(iface, false))
			delete(rd.eps, iface)
			delete(rd.dispatchRules, iface)
		}
	}
	if changedSet {
		rd.dispatch = rd.dispatchChains(eps)
	}
	rd.setChain(ChainFromDispatch, rd.dispatch[0])
	rd.setChain(ChainToDispatch, rd.dispatch[1])
}

// renderChangedEndpoints re-renders only the endpoints the Source says
// changed, when it can say and none of them came, went or changed its
// interface (the dispatch chains stay); it reports whether it did.
func (rd *Renderer) renderChangedEndpoints(r *renderer, eps []*calc.Endpoint) bool {
	if !rd.tracked {
		return false
	}
	keys, all := rd.tracker.ChangedEndpoints()
	if all {
		return false
	}
	todo := make([]*calc.Endpoint, 0, len(keys))
	for _, key := range keys {
		i, found := slices.BinarySearchFunc(eps, key, func(ep *calc.Endpoint, k string) int { return strings.Compare(ep.Key, k) })
		if !found || eps[i].IfaceName == "" {
			return false
		}
		if e := rd.eps[eps[i].IfaceName]; e == nil || e.ep.Key != key {
			return false
		}
		todo = append(todo, eps[i])
	}
	for _, ep := range todo {
		rd.refreshEndpoint(r, rd.eps[ep.IfaceName], ep, false)
	}
	rd.setChain(ChainFromDispatch, rd.dispatch[0])
	rd.setChain(ChainToDispatch, rd.dispatch[1])
	return true
}

// refreshEndpoint re-renders an endpoint's chains (its entry e, nil when
// new) when it or its policy lists changed, or all.
func (rd *Renderer) refreshEndpoint(r *renderer, e *epEntry, ep *calc.Endpoint, all bool) {
	var lists [2][]*calc.Policy
	if !ep.Pending {
		lists = [2][]*calc.Policy{r.m.PoliciesFor(ep, calc.Ingress), r.m.PoliciesFor(ep, calc.Egress)}
	}
	if e != nil && !all && e.ep == ep && samePolicies(e.lists[0], lists[0]) && samePolicies(e.lists[1], lists[1]) {
		e.gen = rd.gen
		return
	}
	rd.renderEndpoint(r, e, ep, lists)
}

// renderEndpoint (re)renders one endpoint's chains; old is its last entry.
func (rd *Renderer) renderEndpoint(r *renderer, old *epEntry, ep *calc.Endpoint, lists [2][]*calc.Policy) {
	e := &epEntry{ep: ep, lists: lists, gen: rd.gen}
	ids := r.capture(func() {
		if !ep.Pending {
			e.groups[calc.Ingress] = r.groupOf(lists[calc.Ingress], ep.Profiles, true)
			e.groups[calc.Egress] = r.groupOf(lists[calc.Egress], ep.Profiles, false)
			rd.acquireGroup(e.groups[calc.Ingress])
			rd.acquireGroup(e.groups[calc.Egress])
		}
		fw, tw := r.endpointChains(ep, e.groups)
		rd.setChain(EndpointChain(ep.IfaceName, true), fixGoto(fw))
		rd.setChain(EndpointChain(ep.IfaceName, false), fixGoto(tw))
	})
	e.ids = ids
	var oldIDs map[string]RuleID
	if old != nil {
		rd.releaseGroups(old.groups)
		oldIDs = old.ids
	}
	rd.swapIDs(oldIDs, ids)
	rd.eps[ep.IfaceName] = e
}

// dispatchChains renders the from- and to-workload dispatch chains (each
// interface's rules made once: at 10,000 endpoints making them anew took
// ~3 ms of every container start).
func (rd *Renderer) dispatchChains(eps []*calc.Endpoint) [2][]ipt.Rule {
	from := make([]ipt.Rule, 0, len(eps)+1)
	to := make([]ipt.Rule, 0, len(eps)+1)
	for _, ep := range eps {
		if ep.IfaceName == "" {
			continue
		}
		rs, ok := rd.dispatchRules[ep.IfaceName]
		if !ok {
			rs = [2]ipt.Rule{
				{Match: "-i " + ep.IfaceName + " -g " + EndpointChain(ep.IfaceName, true)},
				{Match: "-o " + ep.IfaceName + " -g " + EndpointChain(ep.IfaceName, false)},
			}
			rd.dispatchRules[ep.IfaceName] = rs
		}
		from, to = append(from, rs[0]), append(to, rs[1])
	}
	drop := ipt.Rule{Action: "DROP"}
	return [2][]ipt.Rule{append(from, drop), append(to, drop)}
}
