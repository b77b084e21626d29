package selector

import "slices"

// The constructors in this file build trees in normal form; the canonical
// string is simply the printed normal form.

// newNot negates n, folding double negation and negatable comparisons.
func newNot(n node) node {
	switch c := n.(type) {
	case notNode:
		return c.child
	case cmpNode:
		switch c.op {
		case opEq:
			c.op = opNe
			return c
		case opNe:
			c.op = opEq
			return c
		}
	case setNode:
		c.negated = !c.negated
		return c
	}
	return notNode{child: n}
}

// newSet builds "key in vals" (or "not in"), sorting and de-duplicating vals
// and turning a one-member set into == (or !=).
func newSet(key string, vals []string, negated bool) node {
	slices.Sort(vals)
	vals = slices.Compact(vals)
	if len(vals) == 1 {
		op := opEq
		if negated {
			op = opNe
		}
		return cmpNode{key: key, op: op, val: vals[0]}
	}
	return setNode{key: key, vals: slices.Clip(vals), negated: negated}
}

// newAnd joins operands with &&, flattening nested &&. It returns the single
// operand unchanged when there is only one.
func newAnd(kids []node) node {
	if len(kids) == 1 {
		return kids[0]
	}
	flat := make([]node, 0, len(kids))
	for _, k := range kids {
		if a, ok := k.(andNode); ok {
			flat = append(flat, a.kids...)
		} else {
			flat = append(flat, k)
		}
	}
	return andNode{kids: flat}
}

// newOr joins operands with ||, flattening nested ||.
func newOr(kids []node) node {
	if len(kids) == 1 {
		return kids[0]
	}
	flat := make([]node, 0, len(kids))
	for _, k := range kids {
		if o, ok := k.(orNode); ok {
			flat = append(flat, o.kids...)
		} else {
			flat = append(flat, k)
		}
	}
	return orNode{kids: flat}
}
