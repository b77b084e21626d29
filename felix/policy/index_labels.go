package policy

import (
	"slices"
	"strings"

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

// hintIndex is items (policies, member sets) by the label their
// selector's hint requires, and the items without a hint.
type hintIndex[T comparable] struct {
	byLabel  map[string]map[string][]T
	unhinted []T
}

// add indexes v under sel's hint.
func (hi *hintIndex[T]) add(sel selector.Selector, v T) {
	h, ok := selector.IndexHint(sel)
	if !ok {
		hi.unhinted = append(hi.unhinted, v)
		return
	}
	if hi.byLabel == nil {
		hi.byLabel = map[string]map[string][]T{}
	}
	vals := hi.byLabel[h.Key]
	if vals == nil {
		vals = map[string][]T{}
		hi.byLabel[h.Key] = vals
	}
	for _, val := range h.Values {
		vals[val] = append(vals[val], v)
	}
}

// hinted appends to out the items whose hint labels meet.
func (hi *hintIndex[T]) hinted(out []T, labels map[string]string) []T {
	for k, v := range labels {
		out = append(out, hi.byLabel[k][v]...)
	}
	return out
}

// policyIndex is every policy by the label its selector requires, and the
// policies without a hint, in evaluation order.
type policyIndex struct {
	hintIndex[*calc.Policy]
	pos map[*calc.Policy]int // place in the Index's ordered list
}

// policyIdx returns the index of x.ordered, building it if needed.
func (x *Index) policyIdx() *policyIndex {
	if x.polIdx != nil {
		return x.polIdx
	}
	pi := &policyIndex{pos: make(map[*calc.Policy]int, len(x.ordered))}
	for i, p := range x.ordered {
		pi.pos[p] = i
		pi.add(p.Selector, p)
	}
	x.polIdx = pi
	return pi
}

// candidates returns the policies that may select labels, in evaluation
// order: those without a hint and those whose hint the labels meet.
func (pi *policyIndex) candidates(labels map[string]string) []*calc.Policy {
	hinted := pi.hinted(nil, labels)
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

// setCandidates returns the member sets whose membership of an endpoint
// may change from labels was to labels now (nil: none): the sets without
// a hint and those whose hint either meets. An endpoint's change
// evaluated every selector (at 10,000 selectors ~4 ms of a container's
// start, and of every endpoint change of a large fleet); a set can only
// hold an endpoint whose labels, when it last evaluated them (was: update
// and the fills keep x.seen so), met its hint.
func (x *Index) setCandidates(was, now map[string]string) []*memberSet {
	if x.setIdx == nil {
		x.setIdx = &hintIndex[*memberSet]{}
		for _, ms := range x.members {
			x.setIdx.add(ms.sel, ms)
		}
	}
	hinted := x.setIdx.hinted(x.setIdx.hinted(nil, was), now)
	if len(hinted) == 0 {
		return x.setIdx.unhinted
	}
	slices.SortFunc(hinted, func(a, b *memberSet) int { return strings.Compare(a.id, b.id) })
	return append(slices.Compact(hinted), x.setIdx.unhinted...) // a set both labels meet: once
}
