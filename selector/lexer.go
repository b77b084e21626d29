package selector

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokenKind identifies a lexical token. Keywords are not distinguished from
// label keys here: both are tokWord and the parser decides by context.
type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokWord
	tokString
	tokLParen
	tokRParen
	tokLBrace
	tokRBrace
	tokComma
	tokEq
	tokNe
	tokNot
	tokAnd
	tokOr
)

// token is one lexeme. For tokWord text is the word; for tokString it is the
// literal's content without quotes. pos is the 0-based byte offset of the
// token's first byte in the input.
type token struct {
	kind tokenKind
	pos  int
	text string
}

// describe renders a token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of selector"
	case tokWord:
		return fmt.Sprintf("%q", t.text)
	case tokString:
		return "string literal"
	}
	return "'" + punctuation[t.kind] + "'"
}

var punctuation = map[tokenKind]string{
	tokLParen: "(", tokRParen: ")", tokLBrace: "{", tokRBrace: "}", tokComma: ",",
	tokEq: "==", tokNe: "!=", tokNot: "!", tokAnd: "&&", tokOr: "||",
}

// isWordByte reports whether b may appear in a label key or keyword.
func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '_' || b == '.' || b == '/' || b == '-'
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r'
}

// lex splits s into tokens, always ending with a tokEOF at len(s).
func lex(s string) ([]token, *ParseError) {
	toks := make([]token, 0, len(s)/3+1)
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return append(toks, token{kind: tokEOF, pos: i}), nil
		}
		tok, n, err := lexOne(s, i)
		if err != nil {
			return nil, err
		}
		toks = append(toks, tok)
		i += n
	}
}

// lexOne reads the token starting at s[i] (not whitespace, not end of input)
// and returns it with its length in bytes.
func lexOne(s string, i int) (token, int, *ParseError) {
	c := s[i]
	two := func(second byte, kind tokenKind, single tokenKind, want string) (token, int, *ParseError) {
		if i+1 < len(s) && s[i+1] == second {
			return token{kind: kind, pos: i}, 2, nil
		}
		if single != tokEOF {
			return token{kind: single, pos: i}, 1, nil
		}
		return token{}, 0, &ParseError{Pos: i, Msg: fmt.Sprintf("expected '%s'", want)}
	}
	switch c {
	case '(':
		return token{kind: tokLParen, pos: i}, 1, nil
	case ')':
		return token{kind: tokRParen, pos: i}, 1, nil
	case '{':
		return token{kind: tokLBrace, pos: i}, 1, nil
	case '}':
		return token{kind: tokRBrace, pos: i}, 1, nil
	case ',':
		return token{kind: tokComma, pos: i}, 1, nil
	case '=':
		return two('=', tokEq, tokEOF, "==")
	case '!':
		return two('=', tokNe, tokNot, "!=")
	case '&':
		return two('&', tokAnd, tokEOF, "&&")
	case '|':
		return two('|', tokOr, tokEOF, "||")
	case '"', '\'':
		end := strings.IndexByte(s[i+1:], c)
		if end < 0 {
			return token{}, 0, &ParseError{Pos: i, Msg: "unterminated string literal"}
		}
		return token{kind: tokString, pos: i, text: s[i+1 : i+1+end]}, end + 2, nil
	}
	if isWordByte(c) {
		j := i + 1
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		return token{kind: tokWord, pos: i, text: s[i:j]}, j - i, nil
	}
	return token{}, 0, &ParseError{Pos: i, Msg: "unexpected character " + quoteRune(s[i:])}
}

// quoteRune quotes the first character of s, or its first byte if s does not
// start with valid UTF-8.
func quoteRune(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte 0x%02x", s[0])
	}
	return fmt.Sprintf("%q", r)
}
