package selector

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
)

const (
	// MaxLength is the longest selector, in bytes, that Parse accepts. The
	// canonical form of an accepted selector is never longer either.
	MaxLength = 4096
	// MaxDepth is the deepest nesting of parentheses and "!" Parse accepts.
	MaxDepth = 100
)

// Selector is a parsed, immutable label selector, safe for concurrent use.
type Selector interface {
	// Evaluate reports whether the selector matches labels, treated as a
	// namespaced label set (global() is false).
	Evaluate(labels map[string]string) bool
	// EvaluateLabels reports whether the selector matches labels; nil is an
	// empty, namespaced label set.
	EvaluateLabels(labels Labels) bool
	// String returns the canonical form; equivalent spellings of a selector
	// print identically (see the package documentation).
	String() string
	// UniqueID returns a 38-byte hash of String() made of [A-Za-z0-9_-].
	UniqueID() string
	// LabelKeys returns the sorted, distinct label keys the selector
	// references. The caller may modify the returned slice.
	LabelKeys() []string
}

// ParseError reports a malformed selector.
type ParseError struct {
	// Selector is the input that failed to parse.
	Selector string
	// Pos is the 0-based byte column of the problem in Selector.
	Pos int
	// Msg says what was wrong.
	Msg string
}

// Error reads like: selector "role == " : expected a string literal at column 8.
func (e *ParseError) Error() string {
	return fmt.Sprintf("selector %q : %s at column %d", truncate(e.Selector), e.Msg, e.Pos)
}

// truncate keeps error messages readable for very long selectors.
func truncate(s string) string {
	const maxShown = 200
	if len(s) <= maxShown {
		return s
	}
	return s[:maxShown] + "..."
}

type parsed struct {
	root  node
	canon string
	id    string
	keys  []string
}

// Parse parses s. An empty or blank s yields a selector equivalent to all().
// Any error is a *ParseError.
func Parse(s string) (Selector, error) {
	sel, perr := parse(s)
	if perr != nil {
		perr.Selector = s
		return nil, perr
	}
	return sel, nil
}

// MustParse is Parse for selectors known to be valid, such as constants in
// code; it panics on error and must not be used on outside input.
func MustParse(s string) Selector {
	sel, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}

func parse(s string) (*parsed, *ParseError) {
	if len(s) > MaxLength {
		return nil, &ParseError{Pos: MaxLength, Msg: fmt.Sprintf("selector is longer than %d bytes", MaxLength)}
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := parser{toks: toks}
	root, err := p.parseSelector()
	if err != nil {
		return nil, err
	}
	canon := string(root.appendTo(make([]byte, 0, len(s)+16)))
	if len(canon) > MaxLength {
		return nil, &ParseError{Pos: 0, Msg: fmt.Sprintf("canonical form of selector is longer than %d bytes", MaxLength)}
	}
	return &parsed{root: root, canon: canon, id: hashID(canon), keys: collectKeys(root)}, nil
}

// hashID returns the unpadded URL-safe base64 of the SHA-224 of canon.
func hashID(canon string) string {
	sum := sha256.Sum224([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func collectKeys(root node) []string {
	var keys []string
	root.visitKeys(func(k string) { keys = append(keys, k) })
	slices.Sort(keys)
	return slices.Clip(slices.Compact(keys))
}

func (p *parsed) Evaluate(labels map[string]string) bool { return p.root.eval(Map(labels)) }
func (p *parsed) EvaluateLabels(labels Labels) bool {
	if labels == nil {
		labels = Map(nil)
	}
	return p.root.eval(labels)
}
func (p *parsed) String() string      { return p.canon }
func (p *parsed) UniqueID() string    { return p.id }
func (p *parsed) LabelKeys() []string { return slices.Clone(p.keys) }
