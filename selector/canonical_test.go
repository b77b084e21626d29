package selector

import (
	"regexp"
	"slices"
	"testing"
)

func TestCanonicalString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "all()"},
		{" \t\r\n", "all()"},
		{"all()", "all()"},
		{"all ( )", "all()"},
		{"global()", "global()"},
		{"has(a)", "has(a)"},
		{"has( projectcalico.org/orchestrator )", "has(projectcalico.org/orchestrator)"},
		{"!has(a)", "!has(a)"},
		{"a=='x'", `a == "x"`},
		{`a == "x"`, `a == "x"`},
		{`a == 'say "hi"'`, `a == 'say "hi"'`},
		{`a == "it's"`, `a == "it's"`},
		{"a != 'x'", `a != "x"`},
		{"a in {'b','a'}", `a in {"a", "b"}`},
		{"a in {'b','a','b'}", `a in {"a", "b"}`},
		{"a in {}", `a in {}`},
		{"a not in {}", `a not in {}`},
		{"a not   in {'x','y'}", `a not in {"x", "y"}`},
		{"a in {'x'}", `a == "x"`},
		{"a not in {'x', 'x'}", `a != "x"`},
		{"a contains 'x'", `a contains "x"`},
		{"a starts  with 'x'", `a starts with "x"`},
		{"a ends with 'x'", `a ends with "x"`},
		{"!a contains 'x'", `!(a contains "x")`},
		{"!(a starts with 'x')", `!(a starts with "x")`},
		// Double negation and negated comparisons fold.
		{"!!has(a)", "has(a)"},
		{"!!!has(a)", "!has(a)"},
		{"!a == 'x'", `a != "x"`},
		{"!(a != 'x')", `a == "x"`},
		{"!a in {'x','y'}", `a not in {"x", "y"}`},
		{"!(a not in {'x','y'})", `a in {"x", "y"}`},
		// Precedence: ! > && > ||, and only needed parentheses are printed.
		{"a == 'x' || b == 'y' && c == 'z'", `a == "x" || b == "y" && c == "z"`},
		{"(a == 'x' || b == 'y') && c == 'z'", `(a == "x" || b == "y") && c == "z"`},
		{"a == 'x' || (b == 'y' && c == 'z')", `a == "x" || b == "y" && c == "z"`},
		{"((a == 'x'))", `a == "x"`},
		{"has(a) && (has(b) && has(c))", "has(a) && has(b) && has(c)"},
		{"(has(a) || has(b)) || has(c)", "has(a) || has(b) || has(c)"},
		{"!(has(a) && has(b))", "!(has(a) && has(b))"},
		{"!has(a) && has(b)", "!has(a) && has(b)"},
		{"!(has(a) || has(b)) && !all()", "!(has(a) || has(b)) && !all()"},
		{"!global() || has(a)", "!global() || has(a)"},
		// Keywords are keys where a key is expected.
		{"in == 'x'", `in == "x"`},
		{"not not in {'a','b'}", `not not in {"a", "b"}`},
		{"has == 'x' && all in {'1','2'}", `has == "x" && all in {"1", "2"}`},
		{"has(has)", "has(has)"},
		{"contains contains 'x'", `contains contains "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sel, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := sel.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
			again := MustParse(sel.String())
			if again.String() != sel.String() || again.UniqueID() != sel.UniqueID() {
				t.Errorf("round trip changed %s to %s", sel, again)
			}
		})
	}
}

func TestEquivalentSpellingsShareID(t *testing.T) {
	groups := [][]string{
		{"", "all()", "  all( )  ", "(all())", "!!all()"},
		{"a == 'x'", `a=="x"`, "(a == 'x')", "a in {'x'}", "!(a != 'x')", "a in {'x','x'}"},
		{"a in {'x','y'}", `a in {"y", 'x'}`, "!(a not in {'y','x','y'})"},
		{"has(a) && has(b) && has(c)", "(has(a) && has(b)) && has(c)", "has(a) && (has(b) && has(c))"},
		{"a == 'x' || b == 'y' && c == 'z'", "a == 'x' || (b == 'y' && c == 'z')"},
	}
	for _, g := range groups {
		first := MustParse(g[0])
		for _, s := range g[1:] {
			sel := MustParse(s)
			if sel.String() != first.String() || sel.UniqueID() != first.UniqueID() {
				t.Errorf("%q -> %s (%s), want %s (%s)", s, sel, sel.UniqueID(), first, first.UniqueID())
			}
		}
	}
}

func TestDifferentSelectorsDiffer(t *testing.T) {
	distinct := []string{
		"all()", "global()", "has(a)", "!has(a)", "has(b)",
		"a == 'x'", "a != 'x'", "a == 'y'", "b == 'x'", "a == 'X'",
		"a in {'x','y'}", "a not in {'x','y'}", "a in {}", "a not in {}",
		"a contains 'x'", "a starts with 'x'", "a ends with 'x'", "!(a contains 'x')",
		"has(a) && has(b)", "has(b) && has(a)", "has(a) || has(b)",
		"(has(a) || has(b)) && has(c)", "has(a) || has(b) && has(c)",
		`a == "x y"`, `a == "x,y"`, "a == 'x' || a == 'y'",
	}
	byString := map[string]string{}
	byID := map[string]string{}
	for _, s := range distinct {
		sel := MustParse(s)
		if prev, dup := byString[sel.String()]; dup {
			t.Errorf("%q and %q both print %s", prev, s, sel)
		}
		if prev, dup := byID[sel.UniqueID()]; dup {
			t.Errorf("%q and %q share UniqueID %s", prev, s, sel.UniqueID())
		}
		byString[sel.String()] = s
		byID[sel.UniqueID()] = s
	}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{38}$`)

func TestUniqueIDIsNameSafeAndStable(t *testing.T) {
	sel := MustParse("role == 'db'")
	if !idPattern.MatchString(sel.UniqueID()) {
		t.Fatalf("UniqueID %q is not 38 bytes of [A-Za-z0-9_-]", sel.UniqueID())
	}
	// Pinned so that a change of hash (which would orphan every ipset
	// programmed by an older version) cannot go unnoticed.
	const want = "hMZVBVii9Dblr5Wl2lchkKjDEQ0uQAv220a_0w"
	if got := sel.UniqueID(); got != want {
		t.Errorf("UniqueID() = %s, want %s", got, want)
	}
}

func TestLabelKeys(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"all()", nil},
		{"global() && !all()", nil},
		{"has(b) && a == 'x' || !(b contains 'y') && c in {'1','2'}", []string{"a", "b", "c"}},
		{"projectcalico.org/orchestrator != 'k8s' && x not in {}", []string{"projectcalico.org/orchestrator", "x"}},
	}
	for _, tt := range tests {
		sel := MustParse(tt.in)
		got := sel.LabelKeys()
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: LabelKeys() = %q, want %q", tt.in, got, tt.want)
		}
		if len(got) > 0 {
			got[0] = "mutated"
			if sel.LabelKeys()[0] == "mutated" {
				t.Errorf("%q: LabelKeys returned internal state", tt.in)
			}
		}
	}
}
