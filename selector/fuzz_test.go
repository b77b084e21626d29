package selector

import (
	"errors"
	"slices"
	"testing"
)

var fuzzSeeds = []string{
	"",
	"all()",
	"global()",
	"has(a)",
	"!has(projectcalico.org/orchestrator)",
	`role == "db" && tier != 'web'`,
	"a in {'x', \"y\", 'x'} || b not in {}",
	"!a contains 'x' && (b starts with 'y' || c ends with 'z')",
	"!!(a == 'x' || !(b in {'1'}))",
	"((has(a)))",
	"in == 'x' && not not in {'a'}",
	"role == ",
	"a in {'x',}",
	"(has(a)",
	"a == 'say \"hi\"'",
}

// FuzzParse checks that Parse never panics and that the canonical form is a
// fixed point: it parses back to itself, with the same ID and meaning.
func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := Parse(s)
		if err != nil {
			var perr *ParseError
			if !errors.As(err, &perr) || perr.Pos < 0 || perr.Pos > len(s) {
				t.Fatalf("bad error for %q: %#v", s, err)
			}
			return
		}
		canon := sel.String()
		if len(canon) > MaxLength {
			t.Fatalf("canonical form of %q is %d bytes", s, len(canon))
		}
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("%q -> %q does not parse: %v", s, canon, err)
		}
		if again.String() != canon || again.UniqueID() != sel.UniqueID() {
			t.Fatalf("%q -> %q -> %q", s, canon, again.String())
		}
		if !idPattern.MatchString(sel.UniqueID()) {
			t.Fatalf("UniqueID %q of %q is not name-safe", sel.UniqueID(), s)
		}
		keys := sel.LabelKeys()
		if !slices.IsSorted(keys) || !slices.Equal(keys, again.LabelKeys()) {
			t.Fatalf("LabelKeys of %q = %q, of canonical = %q", s, keys, again.LabelKeys())
		}
		for _, k := range keys {
			if err := ValidateKey(k); err != nil {
				t.Fatalf("key %q of %q is invalid: %v", k, s, err)
			}
		}
		for _, l := range fuzzLabelSets(keys) {
			if sel.EvaluateLabels(l) != again.EvaluateLabels(l) {
				t.Fatalf("%q and its canonical form %q disagree on %v", s, canon, l)
			}
		}
	})
}

// fuzzLabelSets builds label sets over keys: none present, and all present
// with a few values, both namespaced and global.
func fuzzLabelSets(keys []string) []Labels {
	sets := []Labels{Map{}, GlobalMap{}}
	for _, v := range []string{"", "x", "y"} {
		m := Map{}
		for _, k := range keys {
			m[k] = v
		}
		sets = append(sets, m, GlobalMap(m))
	}
	return sets
}
