package selector

import (
	"slices"
	"strings"
)

// node is one element of a normalised selector tree. Trees are only built
// through the new* constructors below, which keep them in normal form so
// that printing yields the canonical string.
type node interface {
	eval(l Labels) bool
	// appendTo appends the canonical text of the node.
	appendTo(b []byte) []byte
	// prec is the binding strength of the node's printed form.
	prec() int
	// visitKeys calls f for every label key the node references.
	visitKeys(f func(key string))
}

// Binding strengths, loosest first.
const (
	precOr = iota + 1
	precAnd
	precUnary
)

type allNode struct{}

func (allNode) eval(Labels) bool           { return true }
func (allNode) appendTo(b []byte) []byte   { return append(b, "all()"...) }
func (allNode) prec() int                  { return precUnary }
func (allNode) visitKeys(func(key string)) {}

type globalNode struct{}

func (globalNode) eval(l Labels) bool {
	g, ok := l.(GlobalLabels)
	return ok && g.IsGlobal()
}
func (globalNode) appendTo(b []byte) []byte   { return append(b, "global()"...) }
func (globalNode) prec() int                  { return precUnary }
func (globalNode) visitKeys(func(key string)) {}

type hasNode struct{ key string }

func (n hasNode) eval(l Labels) bool {
	_, ok := l.Get(n.key)
	return ok
}

func (n hasNode) appendTo(b []byte) []byte {
	b = append(b, "has("...)
	b = append(b, n.key...)
	return append(b, ')')
}
func (hasNode) prec() int                      { return precUnary }
func (n hasNode) visitKeys(f func(key string)) { f(n.key) }

// cmpOp is the operator of a comparison against a single string.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opContains
	opStartsWith
	opEndsWith
)

var cmpOpText = [...]string{
	opEq: " == ", opNe: " != ", opContains: " contains ",
	opStartsWith: " starts with ", opEndsWith: " ends with ",
}

type cmpNode struct {
	key string
	op  cmpOp
	val string
}

func (n cmpNode) eval(l Labels) bool {
	v, ok := l.Get(n.key)
	switch n.op {
	case opEq:
		return ok && v == n.val
	case opNe:
		return !ok || v != n.val
	case opContains:
		return ok && strings.Contains(v, n.val)
	case opStartsWith:
		return ok && strings.HasPrefix(v, n.val)
	default:
		return ok && strings.HasSuffix(v, n.val)
	}
}

func (n cmpNode) appendTo(b []byte) []byte {
	b = append(b, n.key...)
	b = append(b, cmpOpText[n.op]...)
	return appendQuoted(b, n.val)
}
func (cmpNode) prec() int                      { return precUnary }
func (n cmpNode) visitKeys(f func(key string)) { f(n.key) }

// setNode is "key in {...}" or, when negated, "key not in {...}". vals is
// sorted and free of duplicates.
type setNode struct {
	key     string
	vals    []string
	negated bool
}

func (n setNode) eval(l Labels) bool {
	v, ok := l.Get(n.key)
	if !ok {
		return n.negated
	}
	_, found := slices.BinarySearch(n.vals, v)
	return found != n.negated
}

func (n setNode) appendTo(b []byte) []byte {
	b = append(b, n.key...)
	if n.negated {
		b = append(b, " not"...)
	}
	b = append(b, " in {"...)
	for i, v := range n.vals {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendQuoted(b, v)
	}
	return append(b, '}')
}
func (setNode) prec() int                      { return precUnary }
func (n setNode) visitKeys(f func(key string)) { f(n.key) }

// notNode negates a child that is not itself a negation or a negatable
// comparison (those are folded by newNot).
type notNode struct{ child node }

func (n notNode) eval(l Labels) bool { return !n.child.eval(l) }

func (n notNode) appendTo(b []byte) []byte {
	b = append(b, '!')
	switch n.child.(type) {
	case allNode, globalNode, hasNode:
		return n.child.appendTo(b)
	}
	b = append(b, '(')
	b = n.child.appendTo(b)
	return append(b, ')')
}
func (notNode) prec() int                      { return precUnary }
func (n notNode) visitKeys(f func(key string)) { n.child.visitKeys(f) }

// andNode and orNode hold two or more operands, none of the same type as
// the node itself (they are flattened).
type andNode struct{ kids []node }
type orNode struct{ kids []node }

func (n andNode) eval(l Labels) bool {
	for _, k := range n.kids {
		if !k.eval(l) {
			return false
		}
	}
	return true
}

func (n orNode) eval(l Labels) bool {
	for _, k := range n.kids {
		if k.eval(l) {
			return true
		}
	}
	return false
}

func (n andNode) appendTo(b []byte) []byte { return appendJoined(b, n.kids, " && ", precAnd) }
func (n orNode) appendTo(b []byte) []byte  { return appendJoined(b, n.kids, " || ", precOr) }
func (andNode) prec() int                  { return precAnd }
func (orNode) prec() int                   { return precOr }

func (n andNode) visitKeys(f func(key string)) { visitAll(n.kids, f) }
func (n orNode) visitKeys(f func(key string))  { visitAll(n.kids, f) }

func visitAll(kids []node, f func(key string)) {
	for _, k := range kids {
		k.visitKeys(f)
	}
}

// appendJoined prints kids separated by sep, parenthesising any operand that
// binds more loosely than prec.
func appendJoined(b []byte, kids []node, sep string, prec int) []byte {
	for i, k := range kids {
		if i > 0 {
			b = append(b, sep...)
		}
		if k.prec() < prec {
			b = append(b, '(')
			b = k.appendTo(b)
			b = append(b, ')')
		} else {
			b = k.appendTo(b)
		}
	}
	return b
}

// appendQuoted quotes s with double quotes, or single quotes when s contains
// a double quote (the lexer guarantees it cannot contain both).
func appendQuoted(b []byte, s string) []byte {
	q := byte('"')
	if strings.IndexByte(s, '"') >= 0 {
		q = '\''
	}
	b = append(b, q)
	b = append(b, s...)
	return append(b, q)
}
