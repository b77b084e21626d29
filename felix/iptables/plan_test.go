package iptables

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func testTable(t *testing.T) *Table {
	t.Helper()
	tbl := NewTable(TableConfig{Name: "filter", IPVersion: 4})
	if err := tbl.SetChain(Chain{Name: "cali-FORWARD", Rules: []Rule{
		{Match: "-i cali+", Action: "ACCEPT"},
		{Match: "-o cali+", Action: "ACCEPT"},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := tbl.SetInserts("FORWARD", []Rule{{Action: "cali-FORWARD"}}); err != nil {
		t.Fatal(err)
	}
	return tbl
}

// rendered returns what iptables-save prints once tbl is applied, plus the
// given foreign FORWARD rules (after ours).
func rendered(tbl *Table, foreign ...string) string {
	fwd := ruleHashes("FORWARD", tbl.inserts["FORWARD"])
	cf := ruleHashes("cali-FORWARD", tbl.chains["cali-FORWARD"])
	lines := []string{"*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
		":DOCKER-USER - [0:0]", ":cali-FORWARD - [0:0]",
		"-A FORWARD " + renderRule(Rule{Action: "cali-FORWARD"}, fwd[0])}
	for _, f := range foreign {
		lines = append(lines, "-A FORWARD "+f)
	}
	lines = append(lines, "-A DOCKER-USER -j RETURN",
		"-A cali-FORWARD "+renderRule(tbl.chains["cali-FORWARD"][0], cf[0]),
		"-A cali-FORWARD "+renderRule(tbl.chains["cali-FORWARD"][1], cf[1]), "COMMIT")
	return strings.Join(lines, "\n") + "\n"
}

// dropLine removes the line starting with prefix.
func dropLine(s, prefix string) string {
	lines := strings.Split(s, "\n")
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, prefix) }), "\n")
}

// swapLines swaps the lines starting with a and b.
func swapLines(s, a, b string) string {
	lines := strings.Split(s, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, a) })
	j := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, b) })
	lines[i], lines[j] = lines[j], lines[i]
	return strings.Join(lines, "\n")
}

func mustParse(t *testing.T, s string) *savedTable {
	t.Helper()
	st, err := parseSave("filter", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestPlan(t *testing.T) {
	tbl := testTable(t)
	inSync := rendered(tbl, "-j DOCKER-USER")
	for _, tc := range []struct {
		name  string
		save  string
		want  []string // prefixes of the planned lines, in order
		empty bool
	}{
		{name: "empty table", save: "",
			want: []string{":cali-FORWARD", "-A cali-FORWARD -i cali+", "-A cali-FORWARD -o cali+", "-I FORWARD 1 -m comment"}},
		{name: "in sync", save: inSync, empty: true},
		{name: "jump pushed down by docker",
			save: strings.Replace(inSync, ":cali-FORWARD - [0:0]\n", ":cali-FORWARD - [0:0]\n-A FORWARD -j DOCKER-USER\n", 1),
			want: []string{"-D FORWARD -m comment", "-I FORWARD 1 -m comment"}},
		{name: "rule deleted from our chain", // appended again, the chain not flushed
			save: dropLine(inSync, "-A cali-FORWARD -o cali+"),
			want: []string{"-A cali-FORWARD -o cali+"}},
		{name: "first rule deleted from our chain",
			save: dropLine(inSync, "-A cali-FORWARD -i cali+"),
			want: []string{"-I cali-FORWARD 1 -i cali+"}},
		{name: "rule of ours added to our chain",
			save: strings.Replace(inSync, "COMMIT", "-A cali-FORWARD -m comment --comment \"cali:AAAAAAAAAAAAAAAA\" -j DROP\nCOMMIT", 1),
			want: []string{`-D cali-FORWARD -m comment --comment "cali:AAAAAAAAAAAAAAAA" -j DROP`}},
		{name: "rules swapped",
			save: swapLines(inSync, "-A cali-FORWARD -i", "-A cali-FORWARD -o"),
			want: []string{":cali-FORWARD", "-A cali-FORWARD -i cali+", "-A cali-FORWARD -o cali+"}},
		{name: "foreign rule in our chain",
			save: strings.Replace(inSync, "COMMIT", "-A cali-FORWARD -j DROP\nCOMMIT", 1),
			want: []string{":cali-FORWARD", "-A cali-FORWARD -i cali+", "-A cali-FORWARD -o cali+"}},
		{name: "stale chain of ours",
			save: strings.Replace(inSync, ":DOCKER-USER", ":cali-old - [0:0]\n:DOCKER-USER", 1),
			want: []string{":cali-old", "-X cali-old"}},
		{name: "our rule in a docker chain",
			save: strings.Replace(inSync, "-A DOCKER-USER -j RETURN",
				`-A DOCKER-USER -m comment --comment "cali:AAAAAAAAAAAAAAAA" -j ACCEPT`+"\n-A DOCKER-USER -j RETURN", 1),
			want: []string{`-D DOCKER-USER -m comment --comment "cali:AAAAAAAAAAAAAAAA" -j ACCEPT`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tbl.plan(mustParse(t, tc.save), nil)
			if tc.empty {
				if len(got) != 0 {
					t.Fatalf("plan %q, want nothing", got)
				}
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("plan:\n%s\nwant %d lines starting %q", strings.Join(got, "\n"), len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("line %d: %q, want prefix %q", i, got[i], tc.want[i])
				}
			}
			if slices.ContainsFunc(got, func(l string) bool { return strings.Contains(l, "DOCKER-USER -j RETURN") }) {
				t.Error("plan touches a foreign rule")
			}
		})
	}
}

func TestPlanRemovesEverythingWhenNothingDesired(t *testing.T) {
	tbl := testTable(t)
	save := rendered(tbl, "-j DOCKER-USER")
	tbl.RemoveChain("cali-FORWARD")
	if err := tbl.SetInserts("FORWARD", nil); err != nil {
		t.Fatal(err)
	}
	got := tbl.plan(mustParse(t, save), nil)
	want := []string{":cali-FORWARD - [0:0]", "-D FORWARD -m comment", "-X cali-FORWARD"}
	if len(got) != len(want) {
		t.Fatalf("plan %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d: %q, want prefix %q", i, got[i], want[i])
		}
	}
}

func TestRuleHashes(t *testing.T) {
	a := ruleHashes("c", []Rule{{Action: "ACCEPT"}, {Action: "DROP"}})
	b := ruleHashes("c", []Rule{{Action: "DROP"}, {Action: "ACCEPT"}})
	c := ruleHashes("d", []Rule{{Action: "ACCEPT"}})
	if a[0] != b[1] || a[1] != b[0] {
		t.Errorf("a rule's hash depends on its position: %v %v", a, b)
	}
	if a[0] == a[1] || a[0] == c[0] {
		t.Errorf("hash ignores the rule or the chain: %v %v", a, c)
	}
	if len(a[0]) != hashLen || ruleHash(renderRule(Rule{Action: "ACCEPT"}, a[0])) != a[0] {
		t.Errorf("hash %q does not round-trip through rendering", a[0])
	}
	if h := ruleHash(`-A X -m comment --comment cali:abc -j ACCEPT`); h != "abc" {
		t.Errorf("unquoted comment: hash %q", h)
	}
	if h := ruleHash(`-A X -m comment --comment "DOCKER thing" -j ACCEPT`); h != "" {
		t.Errorf("foreign comment parsed as ours: %q", h)
	}
}

func TestSetChainRejectsForeignNames(t *testing.T) {
	tbl := NewTable(TableConfig{Name: "filter", IPVersion: 4})
	if err := tbl.SetChain(Chain{Name: "FORWARD"}); err == nil {
		t.Error("SetChain(FORWARD) accepted")
	}
	if err := tbl.SetInserts("cali-X", []Rule{{Action: "ACCEPT"}}); err == nil {
		t.Error("SetInserts into our own chain accepted")
	}
}

func TestParseSaveRejectsOtherTables(t *testing.T) {
	if _, err := parseSave("filter", []byte("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n")); err == nil {
		t.Error("nat section accepted for filter")
	}
	if _, err := parseSave("filter", []byte("*filter\ngarbage\nCOMMIT\n")); err == nil {
		t.Error("garbage accepted")
	}
}

func FuzzParseSave(f *testing.F) {
	f.Add([]byte("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment \"cali:x\" -j ACCEPT\nCOMMIT\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseSave("filter", data)
		if err != nil {
			return
		}
		tbl := NewTable(TableConfig{Name: "filter", IPVersion: 4})
		_ = tbl.SetInserts("FORWARD", []Rule{{Action: "ACCEPT"}})
		tbl.plan(st, nil) // must not panic
	})
}

func TestChooseBackend(t *testing.T) {
	for _, tc := range []struct {
		legacy, nft int
		nftDefault  bool
		want        Backend
	}{
		{0, 0, true, BackendNFT},
		{0, 0, false, BackendLegacy},
		{12, 0, true, BackendLegacy}, // Docker on legacy, distro default nft
		{0, 12, false, BackendNFT},   // Docker on nft, distro default legacy
		{3, 20, false, BackendNFT},
		{20, 3, true, BackendLegacy},
		{5, 5, true, BackendNFT},
	} {
		if got := ChooseBackend(tc.legacy, tc.nft, tc.nftDefault); got != tc.want {
			t.Errorf("ChooseBackend(%d, %d, %v) = %s, want %s", tc.legacy, tc.nft, tc.nftDefault, got, tc.want)
		}
	}
}

func TestCountRules(t *testing.T) {
	save := "# Warning: iptables-legacy tables present\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n-A FORWARD -j DROP\nCOMMIT\n"
	if n := CountRules([]byte(save)); n != 2 {
		t.Errorf("CountRules = %d, want 2", n)
	}
}

// TestPatchChain checks patchChain against a simulation of what its lines
// do to a chain: random chains (with duplicate rules), each changed by
// random insertions, deletions or both; a patch must give the new chain
// exactly, one must be found whenever the change only adds or only
// removes rules (up to patchLimit), and most mixed changes get one.
func TestPatchChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []Rule{{Action: "ACCEPT"}, {Action: "DROP"}, {Match: "-i cali1", Action: "cali-fw-1"},
		{Match: "-i cali2", Action: "cali-fw-2"}, {Match: "-s 10.0.0.1", Action: "RETURN"}}
	random := func(n int) []Rule {
		rs := make([]Rule, n)
		for i := range rs {
			rs[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return rs
	}
	mixed := 0 // patches that both insert and delete
	for round := range 2000 {
		old := random(rng.IntN(12))
		var want []Rule
		kind := rng.IntN(3) // 0: insertions only, 1: deletions only, 2: both
		for _, r := range old {
			for kind != 1 && rng.IntN(3) == 0 {
				want = append(want, random(1)...)
			}
			if kind == 0 || rng.IntN(3) != 0 {
				want = append(want, r)
			}
		}
		if kind != 1 && rng.IntN(2) == 0 {
			want = append(want, random(1+rng.IntN(3))...)
		}
		got := make([]savedRule, len(old))
		for i, h := range ruleHashes("cali-x", old) {
			got[i] = savedRule{line: "-A cali-x " + renderRule(old[i], h), hash: h}
		}
		wantHashes := ruleHashes("cali-x", want)
		lines, ok := patchChain("cali-x", got, wantHashes, want)
		pure := kind != 2 && len(old) != len(want)
		if ok && kind == 2 && len(old) != len(want) {
			mixed++
		}
		if !ok {
			if pure {
				t.Fatalf("round %d: no patch from %v to %v", round, old, want)
			}
			continue
		}
		chain := slices.Clone(ruleHashes("cali-x", old))
		for _, l := range lines {
			f := strings.Fields(l)
			switch f[0] {
			case "-A":
				chain = append(chain, ruleHash(l))
			case "-I":
				n, _ := strconv.Atoi(f[2])
				chain = slices.Insert(chain, n-1, ruleHash(l))
			case "-D": // by position, or by text: the first rule with its hash
				n, err := strconv.Atoi(f[2])
				if err != nil {
					if n = 1 + slices.Index(chain, ruleHash(l)); n == 0 {
						t.Fatalf("round %d: %q deletes no rule", round, l)
					}
				}
				chain = slices.Delete(chain, n-1, n)
			default:
				t.Fatalf("round %d: line %q", round, l)
			}
		}
		if !slices.Equal(chain, wantHashes) {
			t.Fatalf("round %d: %v to %v: lines %q give %v", round, old, want, lines, chain)
		}
	}
	if mixed < 100 {
		t.Errorf("only %d of the rounds that both inserted and deleted were patched", mixed)
	}
	foreign := []savedRule{{hash: ruleHashes("cali-x", alphabet[:1])[0]}, {line: "-A cali-x -j LOG"}}
	if _, ok := patchChain("cali-x", foreign, ruleHashes("cali-x", alphabet[:2]), alphabet[:2]); ok {
		t.Error("a chain holding a foreign rule was patched (it must be rewritten)")
	}
}

// TestKeepOrder: a chain whose rules but the last may run in any order
// keeps the order it had for the rules it keeps, gets its new rules at the
// top, and so is patched by insertions at position 1 and deletions.
func TestKeepOrder(t *testing.T) {
	r := func(s string) Rule { return Rule{Match: "-i " + s, Action: "cali-fw-" + s} }
	drop := Rule{Action: "DROP"}
	for _, tc := range []struct {
		name           string
		old, new, want []Rule
	}{
		{"new rule sorted in the middle", []Rule{r("a"), r("c"), drop}, []Rule{r("a"), r("b"), r("c"), drop},
			[]Rule{r("b"), r("a"), r("c"), drop}},
		{"the kernel's order kept", []Rule{r("c"), r("a"), drop}, []Rule{r("a"), r("b"), r("c"), drop},
			[]Rule{r("b"), r("c"), r("a"), drop}},
		{"one gone", []Rule{r("c"), r("a"), r("b"), drop}, []Rule{r("a"), r("c"), drop}, []Rule{r("c"), r("a"), drop}},
		{"a duplicate added", []Rule{r("a"), drop}, []Rule{r("a"), r("a"), drop}, []Rule{r("a"), r("a"), drop}},
		{"last rule changed: as given", []Rule{r("b"), r("a"), drop}, []Rule{r("a"), r("b")}, []Rule{r("a"), r("b")}},
		{"nothing before", nil, []Rule{r("b"), r("a"), drop}, []Rule{r("b"), r("a"), drop}},
	} {
		if got := keepOrder(tc.old, tc.new); !slices.Equal(got, tc.want) {
			t.Errorf("%s: keepOrder = %v, want %v", tc.name, got, tc.want)
		}
	}

	tbl := NewTable(TableConfig{Name: "filter", IPVersion: 4, AnyOrder: []string{"cali-d"}})
	_ = tbl.SetChain(Chain{Name: "cali-d", Rules: []Rule{r("a"), r("c"), r("e"), drop}})
	known := tbl.expected()
	_ = tbl.SetChain(Chain{Name: "cali-d", Rules: []Rule{r("a"), r("b"), r("c"), r("d"), r("e"), drop}})
	lines := tbl.plan(known, tbl.dirty)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "-I cali-d 1 -i d ") || !strings.HasPrefix(lines[1], "-I cali-d 1 -i b ") {
		t.Errorf("two endpoints added: plan %q, want two insertions at the top", lines)
	}
}
