package selector

import "slices"

// Hint is what an index of labels needs to know of a selector: it can
// only match a label set whose Key has one of Values. Indexes use it to
// evaluate a selector against a few candidates instead of every label set
// (and every selector against an object's candidates only).
type Hint struct {
	Key    string
	Values []string // sorted, distinct
}

// IndexHint returns s's hint, if it has one: "k == 'v'" and "k in {...}",
// a conjunction having one of them (the one with the fewest values), a
// disjunction of such on one key. Anything else (all(), has(k), "!=",
// negations, "contains"...) has none: it must be evaluated everywhere.
//
// A Selector implemented outside this package may have one too, by an
// IndexHint() (Hint, bool) method.
func IndexHint(s Selector) (Hint, bool) {
	if h, ok := s.(interface{ IndexHint() (Hint, bool) }); ok {
		return h.IndexHint()
	}
	p, ok := s.(*parsed)
	if !ok {
		return Hint{}, false
	}
	return hintOf(p.root)
}

func hintOf(n node) (Hint, bool) {
	switch n := n.(type) {
	case cmpNode:
		if n.op == opEq {
			return Hint{Key: n.key, Values: []string{n.val}}, true
		}
	case setNode:
		if !n.negated {
			return Hint{Key: n.key, Values: n.vals}, true
		}
	case andNode:
		var best Hint
		found := false
		for _, k := range n.kids {
			if h, ok := hintOf(k); ok && (!found || len(h.Values) < len(best.Values)) {
				best, found = h, true
			}
		}
		return best, found
	case orNode:
		var out Hint
		for i, k := range n.kids {
			h, ok := hintOf(k)
			if !ok || i > 0 && h.Key != out.Key {
				return Hint{}, false
			}
			out.Key = h.Key
			out.Values = append(out.Values, h.Values...)
		}
		slices.Sort(out.Values)
		out.Values = slices.Compact(out.Values)
		return out, true
	}
	return Hint{}, false
}
