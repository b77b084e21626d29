package selector

import "fmt"

// parser is a recursive-descent parser over the token slice from lex. Every
// method either consumes the construct it is named for or returns a
// *ParseError; none panics.
type parser struct {
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// errorf builds a ParseError at tok, naming tok unless it is the end of input.
func errorf(tok token, format string, args ...any) *ParseError {
	msg := fmt.Sprintf(format, args...)
	if tok.kind != tokEOF {
		msg += " but found " + tok.describe()
	}
	return &ParseError{Pos: tok.pos, Msg: msg}
}

// parseSelector parses a whole selector; no tokens means all().
func (p *parser) parseSelector() (node, *ParseError) {
	if p.peek().kind == tokEOF {
		return allNode{}, nil
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, errorf(t, "expected '&&', '||' or end of selector")
	}
	return n, nil
}

func (p *parser) parseOr() (node, *ParseError) {
	var kids []node
	for {
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
		if p.peek().kind != tokOr {
			return newOr(kids), nil
		}
		p.next()
	}
}

func (p *parser) parseAnd() (node, *ParseError) {
	var kids []node
	for {
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
		if p.peek().kind != tokAnd {
			return newAnd(kids), nil
		}
		p.next()
	}
}

// enter records one more level of nesting at tok, failing past MaxDepth.
func (p *parser) enter(tok token) *ParseError {
	p.depth++
	if p.depth > MaxDepth {
		return &ParseError{Pos: tok.pos, Msg: fmt.Sprintf("nesting is deeper than %d levels", MaxDepth)}
	}
	return nil
}

func (p *parser) parseUnary() (node, *ParseError) {
	switch t := p.peek(); t.kind {
	case tokNot:
		p.next()
		// "!(" is one level, so that the canonical !(k contains 'v') is no
		// deeper than the equivalent input !k contains 'v'.
		counted := p.peek().kind != tokLParen
		if counted {
			if err := p.enter(t); err != nil {
				return nil, err
			}
		}
		n, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if counted {
			p.depth--
		}
		return newNot(n), nil
	case tokLParen:
		p.next()
		if err := p.enter(t); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tokRParen {
			return nil, errorf(c, "unclosed '(' from column %d: expected '&&', '||' or ')'", t.pos)
		}
		p.next()
		p.depth--
		return n, nil
	}
	return p.parsePrimary()
}

// parsePrimary parses a function call (all, global, has) or a comparison.
func (p *parser) parsePrimary() (node, *ParseError) {
	t := p.next()
	if t.kind != tokWord {
		return nil, errorf(t, "expected a label key, '(', '!', has(), all() or global()")
	}
	if p.peek().kind == tokLParen {
		switch t.text {
		case "all":
			return p.parseCall(allNode{})
		case "global":
			return p.parseCall(globalNode{})
		case "has":
			return p.parseHas()
		}
	}
	if err := checkKey(t); err != nil {
		return nil, err
	}
	return p.parseComparison(t.text)
}

// parseCall parses the "()" of a function without arguments.
func (p *parser) parseCall(n node) (node, *ParseError) {
	p.next() // "(", checked by the caller
	if t := p.next(); t.kind != tokRParen {
		return nil, errorf(t, "expected ')'")
	}
	return n, nil
}

// parseHas parses the "(key)" of has(key).
func (p *parser) parseHas() (node, *ParseError) {
	p.next() // "(", checked by the caller
	k := p.next()
	if k.kind != tokWord {
		return nil, errorf(k, "expected a label key in has()")
	}
	if err := checkKey(k); err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tokRParen {
		return nil, errorf(t, "expected ')' after has(%s", k.text)
	}
	return hasNode{key: k.text}, nil
}

func checkKey(t token) *ParseError {
	if err := ValidateKey(t.text); err != nil {
		return &ParseError{Pos: t.pos, Msg: fmt.Sprintf("invalid label key %q: %v", t.text, err)}
	}
	return nil
}

// parseComparison parses the operator and operand after a label key.
func (p *parser) parseComparison(key string) (node, *ParseError) {
	t := p.next()
	switch {
	case t.kind == tokEq:
		return p.parseCmp(key, opEq)
	case t.kind == tokNe:
		return p.parseCmp(key, opNe)
	case t.kind != tokWord:
	case t.text == "in":
		return p.parseSet(key, false)
	case t.text == "contains":
		return p.parseCmp(key, opContains)
	case t.text == "not":
		return p.parseSecondWord("in", func() (node, *ParseError) { return p.parseSet(key, true) })
	case t.text == "starts":
		return p.parseSecondWord("with", func() (node, *ParseError) { return p.parseCmp(key, opStartsWith) })
	case t.text == "ends":
		return p.parseSecondWord("with", func() (node, *ParseError) { return p.parseCmp(key, opEndsWith) })
	}
	return nil, errorf(t, "expected an operator (==, !=, in, not in, contains, starts with, ends with) after %q", key)
}

// parseSecondWord consumes the second word of a two-word operator, then
// continues with rest.
func (p *parser) parseSecondWord(want string, rest func() (node, *ParseError)) (node, *ParseError) {
	if t := p.next(); t.kind != tokWord || t.text != want {
		return nil, errorf(t, "expected %q", want)
	}
	return rest()
}

func (p *parser) parseCmp(key string, op cmpOp) (node, *ParseError) {
	s, err := p.parseString()
	if err != nil {
		return nil, err
	}
	return cmpNode{key: key, op: op, val: s}, nil
}

func (p *parser) parseString() (string, *ParseError) {
	t := p.next()
	if t.kind != tokString {
		return "", errorf(t, "expected a string literal")
	}
	return t.text, nil
}

// parseSet parses "{" [ string { "," string } ] "}".
func (p *parser) parseSet(key string, negated bool) (node, *ParseError) {
	if t := p.next(); t.kind != tokLBrace {
		return nil, errorf(t, "expected '{'")
	}
	var vals []string
	if p.peek().kind == tokRBrace {
		p.next()
		return newSet(key, vals, negated), nil
	}
	for {
		s, err := p.parseString()
		if err != nil {
			return nil, err
		}
		vals = append(vals, s)
		switch t := p.next(); t.kind {
		case tokRBrace:
			return newSet(key, vals, negated), nil
		case tokComma:
		default:
			return nil, errorf(t, "expected ',' or '}'")
		}
	}
}
