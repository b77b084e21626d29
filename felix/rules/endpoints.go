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
// whose policy lists did) and, when the endpoints' interfaces changed, the
// dispatch chains; it drops the chains of endpoints gone.
func (rd *Renderer) renderEndpoints(r *renderer, eps []*calc.Endpoint, all bool) {
	if !all && rd.dispatch[0] != nil && rd.renderChangedEndpoints(r, eps) {
		return
	}
	changedSet := rd.dispatch[0] == nil
	ifaceOf := make(map[string]string, len(rd.ifaceOf))
	count := make(map[string]int, len(rd.ifaceCount))
	for _, ep := range eps {
		if ep.IfaceName == "" {
			continue
		}
		ifaceOf[ep.Key] = ep.IfaceName
		count[ep.IfaceName]++
		if rd.ifaceOf[ep.Key] != ep.IfaceName { // its old interface, if no longer held, is dropped below
			changedSet = true
			rd.moved(ep.IfaceName)
		}
		// Two endpoints with one interface: the last wins, as rendered.
		rd.refreshEndpoint(r, rd.eps[ep.IfaceName], ep, all)
	}
	for key := range rd.ifaceOf {
		if _, ok := ifaceOf[key]; !ok {
			changedSet = true // gone, or lost its interface
		}
	}
	for iface, e := range rd.eps {
		if e.gen != rd.gen {
			rd.dropEndpoint(iface)
		}
	}
	rd.ifaceOf, rd.ifaceCount = ifaceOf, count
	if changedSet {
		rd.dispatch = rd.dispatchChains(eps)
	}
	rd.setChain(ChainFromDispatch, rd.dispatch[0])
	rd.setChain(ChainToDispatch, rd.dispatch[1])
}

// moved records that iface's dispatch rules may have come or gone
// (Delta.Dispatch); not before the first dispatch chains.
func (rd *Renderer) moved(iface string) {
	if rd.dispatch[0] == nil {
		return
	}
	if rd.dispatchMoved == nil {
		rd.dispatchMoved = map[string]bool{}
	}
	rd.dispatchMoved[iface] = true
}

// dropEndpoint forgets the endpoint rendered for iface and drops its
// chains.
func (rd *Renderer) dropEndpoint(iface string) {
	e := rd.eps[iface]
	rd.moved(iface)
	rd.releaseGroups(e.groups)
	rd.swapIDs(e.ids, nil)
	rd.removeChain(EndpointChain(iface, true))
	rd.removeChain(EndpointChain(iface, false))
	delete(rd.eps, iface)
	delete(rd.dispatchRules, iface)
}

// renderChangedEndpoints re-renders only the endpoints the Source says
// changed, when it can say, including those that came or went (a
// container's start or stop: the full pass visited every endpoint, ~4 ms
// at 10,000). An endpoint that changed its interface, or whose interface
// another endpoint has or takes, is left to the full pass (which of two
// endpoints on one interface is rendered depends on all of them). It
// reports whether it did.
func (rd *Renderer) renderChangedEndpoints(r *renderer, eps []*calc.Endpoint) bool {
	if !rd.tracked {
		return false
	}
	keys, all := rd.tracker.ChangedEndpoints()
	if all || len(keys) > patchLimit {
		return false
	}
	var kept, came []*calc.Endpoint
	var gone []string
	seen := make(map[string]bool, len(keys))
	taken := map[string]bool{}
	for _, key := range keys { // checked before anything changes
		if seen[key] {
			continue
		}
		seen[key] = true
		i, found := slices.BinarySearchFunc(eps, key, func(ep *calc.Endpoint, k string) int { return strings.Compare(ep.Key, k) })
		now, was := "", rd.ifaceOf[key]
		if found {
			now = eps[i].IfaceName
		}
		switch {
		case now == "" && was == "": // not rendered before or now
		case now == was: // changed in place
			if rd.ifaceCount[now] > 1 {
				return false
			}
			kept = append(kept, eps[i])
		case now != "" && was != "": // changed its interface
			return false
		case now != "": // came
			if rd.ifaceCount[now] > 0 || taken[now] {
				return false
			}
			taken[now] = true
			came = append(came, eps[i])
		default: // went
			if rd.ifaceCount[was] > 1 {
				return false
			}
			gone = append(gone, key)
		}
	}
	for _, ep := range kept {
		rd.refreshEndpoint(r, rd.eps[ep.IfaceName], ep, false)
	}
	for _, ep := range came {
		rd.moved(ep.IfaceName)
		rd.refreshEndpoint(r, nil, ep, false)
		rd.ifaceOf[ep.Key] = ep.IfaceName
		rd.ifaceCount[ep.IfaceName] = 1
	}
	for _, key := range gone {
		iface := rd.ifaceOf[key]
		rd.dropEndpoint(iface)
		delete(rd.ifaceOf, key)
		delete(rd.ifaceCount, iface)
	}
	if len(came)+len(gone) > 0 {
		rd.dispatch = rd.dispatchChains(eps)
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
