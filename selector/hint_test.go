package selector

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestIndexHint(t *testing.T) {
	for sel, want := range map[string]string{
		"role == 'db'":                              "role [db]",
		"role in {'db', 'web'}":                     "role [db web]",
		"has(x) && role == 'db'":                    "role [db]",
		"app in {'a','b','c'} && role == 'db'":      "role [db]",
		"role == 'db' || role == 'web'":             "role [db web]",
		"role == 'db' || app == 'web'":              "none",
		"all()":                                     "none",
		"role != 'db'":                              "none",
		"!(role == 'db')":                           "none",
		"role not in {'db'}":                        "none",
		"has(role)":                                 "none",
		"role contains 'd'":                         "none",
		"(role == 'db' && x == '1') || role == 'w'": "role [db w]",
	} {
		h, ok := IndexHint(MustParse(sel))
		got := "none"
		if ok {
			got = fmt.Sprintf("%s %v", h.Key, h.Values)
		}
		if got != want {
			t.Errorf("IndexHint(%q) = %s, want %s", sel, got, want)
		}
	}
}

// A hint never excludes a label set the selector matches: random
// selectors over a few keys and values, against every label set of them.
func TestIndexHintIsSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	keys, vals := []string{"a", "b"}, []string{"x", "y", "z"}
	var sets []map[string]string
	for _, va := range append(vals, "") {
		for _, vb := range append(vals, "") {
			l := map[string]string{}
			if va != "" {
				l["a"] = va
			}
			if vb != "" {
				l["b"] = vb
			}
			sets = append(sets, l)
		}
	}
	atom := func() string {
		k, v := keys[rng.IntN(2)], vals[rng.IntN(3)]
		switch rng.IntN(6) {
		case 0:
			return fmt.Sprintf("%s == '%s'", k, v)
		case 1:
			return fmt.Sprintf("%s != '%s'", k, v)
		case 2:
			return fmt.Sprintf("%s in {'%s', '%s'}", k, v, vals[rng.IntN(3)])
		case 3:
			return fmt.Sprintf("has(%s)", k)
		case 4:
			return fmt.Sprintf("!(%s == '%s')", k, v)
		default:
			return "all()"
		}
	}
	var expr func(depth int) string
	expr = func(depth int) string {
		if depth == 0 || rng.IntN(3) == 0 {
			return atom()
		}
		op := " && "
		if rng.IntN(2) == 0 {
			op = " || "
		}
		return "(" + expr(depth-1) + op + expr(depth-1) + ")"
	}
	for range 2000 {
		s := MustParse(expr(3))
		h, ok := IndexHint(s)
		if !ok {
			continue
		}
		for _, l := range sets {
			if s.Evaluate(l) && !slices.Contains(h.Values, l[h.Key]) {
				t.Fatalf("%s matches %v but its hint %+v excludes it", s, l, h)
			}
		}
	}
}
