package policy

import (
	"slices"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// Label indexes: a selector with an index hint (selector.IndexHint: it
// requires a label key to have one of a few values, as "app == 'web'"
// does) is evaluated only against the objects carrying one of those
// labels. Without them, selecting the policies of n endpoints and filling
// the member sets of n selectors evaluates n × n selectors (start of day
// at 10,000 × 10,000: seconds); with them, a few per endpoint and per
// selector. Both indexes are built when first needed after a change of
// what they index, so a start of day builds each once.

// policyIndex is every policy by the label its selector requires, and the
// policies without a hint, in evaluation order.
type policyIndex struct {
	byLabel  map[string]map[string][]*calc.Policy
	unhinted []*calc.Policy
	pos      map[*calc.Policy]int // place in the Index's ordered list
}

// policyIdx returns the index of x.ordered, building it if needed.
func (x *Index) policyIdx() *policyIndex {
	if x.polIdx != nil {
		return x.polIdx
	}
	pi := &policyIndex{byLabel: map[string]map[string][]*calc.Policy{}, pos: make(map[*calc.Policy]int, len(x.ordered))}
	for i, p := range x.ordered {
		pi.pos[p] = i
		h, ok := selector.IndexHint(p.Selector)
		if !ok {
			pi.unhinted = append(pi.unhinted, p)
			continue
		}
		vals := pi.byLabel[h.Key]
		if vals == nil {
			vals = map[string][]*calc.Policy{}
			pi.byLabel[h.Key] = vals
		}
		for _, v := range h.Values {
			vals[v] = append(vals[v], p)
		}
	}
	x.polIdx = pi
	return pi
}

// candidates returns the policies that may select labels, in evaluation
// order: those without a hint and those whose hint the labels meet.
func (pi *policyIndex) candidates(labels map[string]string) []*calc.Policy {
	var hinted []*calc.Policy
	for k, v := range labels {
		hinted = append(hinted, pi.byLabel[k][v]...)
	}
	if len(hinted) == 0 {
		return pi.unhinted
	}
	out := append(slices.Clone(pi.unhinted), hinted...)
	slices.SortFunc(out, func(a, b *calc.Policy) int { return pi.pos[a] - pi.pos[b] })
	return slices.Compact(out) // a policy hinted by two of the labels' values: once
}

// endpointIndex is every endpoint of the model by label.
type endpointIndex map[string]map[string][]*calc.Endpoint

// endpointIdx returns the index of x.every, building it if needed.
func (x *Index) endpointIdx() endpointIndex {
	if x.epIdx != nil {
		return x.epIdx
	}
	if x.every == nil {
		x.every = x.model.Endpoints()
	}
	idx := endpointIndex{}
	for _, ep := range x.every {
		for k, v := range ep.Labels {
			vals := idx[k]
			if vals == nil {
				vals = map[string][]*calc.Endpoint{}
				idx[k] = vals
			}
			vals[v] = append(vals[v], ep)
		}
	}
	x.epIdx = idx
	return idx
}

// memberCandidates returns the endpoints sel may match: those carrying a
// label its hint requires, or every one.
func (x *Index) memberCandidates(sel selector.Selector) []*calc.Endpoint {
	h, ok := selector.IndexHint(sel)
	if !ok {
		if x.every == nil {
			x.every = x.model.Endpoints()
		}
		return x.every
	}
	idx := x.endpointIdx()
	var out []*calc.Endpoint
	for _, v := range h.Values {
		out = append(out, idx[h.Key][v]...)
	}
	return out
}

// setIndex is every member set by the label its selector requires, and
// the sets without a hint.
type setIndex struct {
	byLabel  map[string]map[string][]*memberSet
	unhinted []*memberSet
}

// setCandidates returns the member sets whose membership of an endpoint
// may change from labels was to labels now (nil: none): the sets without
// a hint and those whose hint either meets. An endpoint's change
// evaluated every selector (at 10,000 selectors ~4 ms of a container's
// start, and of every endpoint change of a large fleet); a set can only
// hold an endpoint whose labels, when it last evaluated them (was: update
// and the fills keep x.seen so), met its hint.
func (x *Index) setCandidates(was, now map[string]string) []*memberSet {
	si := x.setIdx
	if si == nil {
		si = &setIndex{byLabel: map[string]map[string][]*memberSet{}}
		for _, ms := range x.members {
			h, ok := selector.IndexHint(ms.sel)
			if !ok {
				si.unhinted = append(si.unhinted, ms)
				continue
			}
			vals := si.byLabel[h.Key]
			if vals == nil {
				vals = map[string][]*memberSet{}
				si.byLabel[h.Key] = vals
			}
			for _, v := range h.Values {
				vals[v] = append(vals[v], ms)
			}
		}
		x.setIdx = si
	}
	out := si.unhinted
	cloned := false
	var seen map[*memberSet]bool
	for _, labels := range []map[string]string{was, now} {
		for k, v := range labels {
			for _, ms := range si.byLabel[k][v] {
				if seen[ms] {
					continue
				}
				if !cloned {
					out, cloned = slices.Clone(out), true
					seen = map[*memberSet]bool{}
				}
				seen[ms] = true
				out = append(out, ms)
			}
		}
	}
	return out
}
