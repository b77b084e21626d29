package nft

import (
	"testing"

	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// TestCompileChainFuses: the pairs rules.Fusable names become one kernel rule
// (the first's expressions, then the second's), and nothing else does.
func TestCompileChainFuses(t *testing.T) {
	const (
		clear  = "MARK --set-xmark 0x0/0x30000"
		accept = "MARK --set-xmark 0x10000/0x10000"
		pass   = "MARK --set-xmark 0x20000/0x20000"
		tcp    = "-p tcp -m tcp --dport 80"
	)
	ret := func(bits string) iptables.Rule {
		return iptables.Rule{Match: "-m mark --mark " + bits, Action: "RETURN"}
	}
	cases := []struct {
		name  string
		chain string
		src   []iptables.Rule
		want  []expr.VerdictKind // each kernel rule's verdict (-100: none)
	}{
		{"a group's clear and its jump", "cali-gi-x", []iptables.Rule{{Action: clear}, {Action: "cali-pi-p"},
			ret("0x10000/0x10000"), {Action: "DROP"}}, []expr.VerdictKind{expr.VerdictJump, expr.VerdictReturn, expr.VerdictDrop}},
		{"a clear before a conditional jump stays", "cali-gi-x", []iptables.Rule{{Action: clear}, {Match: "-m mark --mark 0x0/0x30000", Action: "cali-pi-p"}},
			[]expr.VerdictKind{-100, expr.VerdictJump}},
		{"a policy's Allow and Pass with their returns", "cali-pi-p", []iptables.Rule{{Match: tcp, Action: accept}, ret("0x10000/0x10000"),
			{Match: "-p udp", Action: pass}, ret("0x20000/0x20000"), {Match: "-p icmp", Action: "DROP"}, {Action: accept}},
			[]expr.VerdictKind{expr.VerdictReturn, expr.VerdictReturn, expr.VerdictDrop, -100}},
		{"outside a policy or profile chain an Allow-like pair stays", "cali-fh-x", []iptables.Rule{{Match: tcp, Action: accept}, ret("0x10000/0x10000")},
			[]expr.VerdictKind{-100, expr.VerdictReturn}},
		{"a return on other bits stays", "cali-pi-p", []iptables.Rule{{Match: tcp, Action: accept}, ret("0x20000/0x20000")},
			[]expr.VerdictKind{-100, expr.VerdictReturn}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			compiled, hashes, err := compileChain(ourTable(4, "calico"), tc.chain, tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if len(compiled) != len(tc.want) || len(hashes) != len(tc.want) {
				t.Fatalf("%d rules (%d hashes), want %d", len(compiled), len(hashes), len(tc.want))
			}
			for i, exprs := range compiled {
				got := expr.VerdictKind(-100)
				if v, ok := exprs[len(exprs)-1].(*expr.Verdict); ok {
					got = v.Kind
				}
				if got != tc.want[i] {
					t.Errorf("rule %d: verdict %d, want %d (%v)", i, got, tc.want[i], exprs)
				}
			}
		})
	}
}

// TestCompileChainExpandedAllowNotFused: an Allow split into one rule per
// multiport entry keeps its separate return, so a packet the first entry
// marked returns even if it does not match the last.
func TestCompileChainExpandedAllowNotFused(t *testing.T) {
	src := []iptables.Rule{{Match: "-p tcp -m multiport --dports 80,443", Action: "MARK --set-xmark 0x10000/0x10000"},
		{Match: "-m mark --mark 0x10000/0x10000", Action: "RETURN"}}
	compiled, _, err := compileChain(ourTable(4, "calico"), "cali-pi-p", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(compiled) != 3 {
		t.Fatalf("%d rules, want 3 (two expanded marks, then the return)", len(compiled))
	}
	if _, ok := compiled[1][len(compiled[1])-1].(*expr.Verdict); ok {
		t.Errorf("the second expanded rule has a verdict: %v", compiled[1])
	}
}

// TestCompileChainFusedReturnUntested: a fused Allow (or Pass) and its
// return is the Allow's rule and then the return's verdict alone: its
// mark match, true once the Allow has set the mark, is not compiled, nor a
// second counter.
func TestCompileChainFusedReturnUntested(t *testing.T) {
	for _, tc := range []struct{ chain, mark, ret string }{
		{"cali-pi-p", "MARK --set-xmark 0x10000/0x10000", "0x10000/0x10000"},
		{"cali-pi-p", "MARK --set-xmark 0x20000/0x20000", "0x20000/0x20000"},
		{"cali-gi-x", "MARK --set-xmark 0x10000/0x30000", "0x10000/0x10000"}, // an inlined Allow
	} {
		allow := iptables.Rule{Match: "-p tcp -m tcp --dport 80", Action: tc.mark}
		compiled, _, err := compileChain(ourTable(4, "calico"), tc.chain, []iptables.Rule{allow,
			{Match: "-m mark --mark " + tc.ret, Action: "RETURN"}})
		if err != nil {
			t.Fatal(err)
		}
		alone, _, err := compileChain(ourTable(4, "calico"), tc.chain, []iptables.Rule{allow})
		if err != nil {
			t.Fatal(err)
		}
		want := append(alone[0], &expr.Verdict{Kind: expr.VerdictReturn})
		if len(compiled) != 1 || fingerprint(compiled[0]) != fingerprint(want) {
			t.Errorf("%s %s: compiled %v, want %v", tc.chain, tc.mark, compiled, want)
		}
	}
}
