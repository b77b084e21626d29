package selector

import (
	"errors"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in      string
		pos     int
		wantMsg string
	}{
		{"role == ", 8, "expected a string literal"},
		{"role ==", 7, "expected a string literal"},
		{"role", 4, "expected an operator"},
		{"role = 'x'", 5, "expected '=='"},
		{"role == 'x' & b == 'y'", 12, "expected '&&'"},
		{"role == 'x' | b == 'y'", 12, "expected '||'"},
		{"role == 'x", 8, "unterminated string literal"},
		{`role == "x`, 8, "unterminated string literal"},
		{"role == 'x' b", 12, "expected '&&', '||' or end of selector"},
		{"role == 'x')", 11, "expected '&&', '||' or end of selector"},
		{"(role == 'x'", 12, "unclosed '(' from column 0: expected '&&', '||' or ')'"},
		{"()", 1, "expected a label key"},
		{"&& a", 0, "expected a label key"},
		{"a == 'x' &&", 11, "expected a label key"},
		{"a == 'x' || || b", 12, "expected a label key"},
		{"'x' == a", 0, "expected a label key"},
		{"!", 1, "expected a label key"},
		{"a == b", 5, "expected a string literal"},
		{"a in 'x'", 5, "expected '{'"},
		{"a in {'x',}", 10, "expected a string literal"},
		{"a in {'x' 'y'}", 10, "expected ',' or '}'"},
		{"a in {'x'", 9, "expected ',' or '}'"},
		{"a in {x}", 6, "expected a string literal"},
		{"a not 'x'", 6, `expected "in"`},
		{"a starts 'x'", 9, `expected "with"`},
		{"a ends on 'x'", 7, `expected "with"`},
		{"a startswith 'x'", 2, "expected an operator"},
		{"a has 'x'", 2, "expected an operator"},
		{"has()", 4, "expected a label key in has()"},
		{"has(a b)", 6, "expected ')' after has(a"},
		{"has('a')", 4, "expected a label key in has()"},
		{"all(x)", 4, "expected ')'"},
		{"global(", 7, "expected ')'"},
		{"role == 'x' $", 12, "unexpected character '$'"},
		{"rôle == 'x'", 1, "unexpected character 'ô'"},
		{"a == 'x' \xff", 9, "unexpected character byte 0xff"},
		{"-a == 'x'", 0, "invalid label key"},
		{"a- == 'x'", 0, "must start and end with a letter or digit"},
		{"a/b/c == 'x'", 0, "at most one '/'"},
		{"/a == 'x'", 0, "prefix \"\": must not be empty"},
		{"Example.com/a == 'x'", 0, "must be a DNS subdomain"},
		{"x == 'y' && has(a/)", 16, "name \"\": must not be empty"},
		{strings.Repeat("a", 64) + " == 'x'", 0, "must be at most 63 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded with %s", sel)
			}
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("error %v is %T, not *ParseError", err, err)
			}
			if perr.Pos != tt.pos {
				t.Errorf("Pos = %d, want %d (%v)", perr.Pos, tt.pos, err)
			}
			if !strings.Contains(perr.Msg, tt.wantMsg) {
				t.Errorf("Msg = %q, want it to contain %q", perr.Msg, tt.wantMsg)
			}
			if perr.Selector != tt.in {
				t.Errorf("Selector = %q, want %q", perr.Selector, tt.in)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	_, err := Parse("role == ")
	const want = `selector "role == " : expected a string literal at column 8`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	_, err = Parse("a && b")
	const want2 = `selector "a && b" : expected an operator (==, !=, in, not in, contains, starts with, ends with) after "a" but found '&&' at column 2`
	if err == nil || err.Error() != want2 {
		t.Errorf("error = %v, want %s", err, want2)
	}
}

func TestLimits(t *testing.T) {
	nested := func(n int) string {
		return strings.Repeat("(", n) + "has(a)" + strings.Repeat(")", n)
	}
	long := "a in {" + strings.Repeat("'x',", 1000) + "'y'}"
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"depth 100 parens", nested(MaxDepth), ""},
		{"depth 101 parens", nested(MaxDepth + 1), "nesting is deeper than 100 levels"},
		{"depth 100 nots", strings.Repeat("!", MaxDepth) + "has(a)", ""},
		{"depth 101 nots", strings.Repeat("!", MaxDepth+1) + "has(a)", "nesting is deeper than 100 levels"},
		{"!( counts once", strings.Repeat("!(", MaxDepth) + "has(a)" + strings.Repeat(")", MaxDepth), ""},
		{"mixed 101", strings.Repeat("!(", 50) + strings.Repeat("(", 50) + "!has(a)" + strings.Repeat(")", 100), "nesting is deeper"},
		{"length 4096", padTo("has(a)", MaxLength), ""},
		{"length 4097", padTo("has(a)", MaxLength+1), "longer than 4096 bytes"},
		{"long set", long, ""},
		{"duplicates shrink canonical form", "a in {" + strings.Repeat("'x','y',", 455) + "'z'}" + strings.Repeat(" && !b contains 'x'", 20), ""},
		{"canonical grows past limit", strings.Repeat("!a contains'x'&&", 254) + "!a contains'x'", "canonical form of selector is longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sel, err := Parse(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse(%d bytes): %v", len(tt.in), err)
				}
				if _, err := Parse(sel.String()); err != nil {
					t.Fatalf("canonical form does not parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if len(err.Error()) > 400 {
				t.Errorf("error message is %d bytes; long selectors should be truncated", len(err.Error()))
			}
		})
	}
}

// padTo pads s with trailing spaces to n bytes.
func padTo(s string, n int) string { return s + strings.Repeat(" ", n-len(s)) }

func TestMustParsePanicsOnError(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse did not panic on a bad selector")
		}
	}()
	MustParse("a ==")
}
