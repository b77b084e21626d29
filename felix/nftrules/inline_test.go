package nftrules

import (
	"slices"
	"testing"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// groupOf is a group chain as felix/rules renders it for one tier with
// one policy (pol), ending in a logged end-of-tier drop.
func groupOf(pol string) []ipt.Rule {
	return []ipt.Rule{{Action: rules.MarksCleared}, {Action: pol}, rules.AcceptedReturn,
		{Match: "-m conntrack --ctstate NEW", Action: `NFLOG --nflog-group 1 --nflog-prefix "DIt|tier:default"`},
		{Action: "DROP"}}
}

func TestGroupChainHoldsItsOnlyPolicy(t *testing.T) {
	const g1, g2, pol = "cali-gi-one", "cali-gi-two", "cali-pi-web"
	allow := ipt.Rule{Match: "-p tcp -m multiport --dports 80,443", Action: rules.AcceptAction}
	deny := ipt.Rule{Match: "-p udp", Action: "DROP"}
	policy := []ipt.Rule{allow, rules.AcceptedReturn, deny}
	tab, err := Build(4, Input{IPVersion: 4, Chains: []ipt.Chain{
		{Name: rules.ChainToDispatch, Rules: []ipt.Rule{{Match: "-o cali1 -g " + g1}, {Action: "DROP"}}},
		{Name: rules.ChainFromDispatch, Rules: []ipt.Rule{{Match: "-i cali1 -g cali-fw-cali1"}, {Action: "DROP"}}},
		{Name: "cali-fw-cali1", Rules: []ipt.Rule{{Action: "DROP"}}},
		{Name: g1, Rules: groupOf(pol)}, {Name: pol, Rules: policy},
	}, Inserts: map[string][]ipt.Rule{"FORWARD": {
		{Match: "-i cali+", Action: rules.ChainFromDispatch}, {Match: "-o cali+", Action: rules.ChainToDispatch}}}})
	if err != nil {
		t.Fatal(err)
	}
	// The Allow's multiport split: each half returns itself.
	inlinedG1 := []ipt.Rule{
		{Match: "-p tcp -m multiport --dports 80", Action: rules.AllowAndClear}, rules.AcceptedReturn,
		{Match: "-p tcp -m multiport --dports 443", Action: rules.AllowAndClear}, rules.AcceptedReturn,
		deny,
		groupOf(pol)[3], groupOf(pol)[4]}
	check := func(step string, want map[string][]ipt.Rule, held bool) {
		t.Helper()
		for name, rs := range want {
			if !slices.Equal(tab.Chains[name], rs) {
				t.Errorf("%s: chain %s is %v, want %v", step, name, tab.Chains[name], rs)
			}
		}
		var holds bool
		for _, p := range tab.Parts() {
			_, ok := p.Chains[pol]
			holds = holds || ok
			checkClosed(t, p)
		}
		if holds != held {
			t.Errorf("%s: the policy's chain is held: %v, want %v", step, holds, held)
		}
	}
	check("one group", map[string][]ipt.Rule{g1: inlinedG1}, false)
	for i := 0; i+1 < len(inlinedG1); i++ {
		if inlinedG1[i].Action == rules.AllowAndClear && !rules.Fusable(g1, inlinedG1[i], inlinedG1[i+1]) {
			t.Errorf("the inlined Allow %v is not fused with its return", inlinedG1[i])
		}
	}

	// A second group jumps to the policy: both keep the jump, and the
	// policy's chain is held again.
	tab.SetChain(ipt.Chain{Name: g2, Rules: groupOf(pol)})
	tab.SetChain(ipt.Chain{Name: rules.ChainToDispatch, Rules: []ipt.Rule{{Match: "-o cali1 -g " + g1}, {Match: "-o cali2 -g " + g2}, {Action: "DROP"}}})
	check("two groups", map[string][]ipt.Rule{g1: groupOf(pol), g2: groupOf(pol)}, true)

	tab.RemoveChain(g2)
	tab.SetChain(ipt.Chain{Name: rules.ChainToDispatch, Rules: []ipt.Rule{{Match: "-o cali1 -g " + g1}, {Action: "DROP"}}})
	check("one group again", map[string][]ipt.Rule{g1: inlinedG1}, false)

	// The policy changes: the group follows.
	tab.SetChain(ipt.Chain{Name: pol, Rules: []ipt.Rule{deny}})
	check("policy changed", map[string][]ipt.Rule{g1: {deny, groupOf(pol)[3], groupOf(pol)[4]}}, false)

	// A Pass (its return would leave the group chain) keeps the jump.
	pass := []ipt.Rule{{Match: "-p tcp", Action: rules.MarkAction(rules.MarkPass, rules.MarkPass)},
		{Match: rules.MarkMatch(rules.MarkPass, rules.MarkPass), Action: "RETURN"}}
	tab.SetChain(ipt.Chain{Name: pol, Rules: pass})
	check("a Pass", map[string][]ipt.Rule{g1: groupOf(pol)}, true)

	tab.RemoveChain(pol)
	tab.SetChain(ipt.Chain{Name: pol, Rules: policy})
	check("removed and back", map[string][]ipt.Rule{g1: inlinedG1}, false)
}

func TestInlinedCounters(t *testing.T) {
	// An inlined Allow keeps its counter, as in its policy's chain.
	exprs, err := Compile(4, "cali-gi-x", ipt.Rule{Match: "-p tcp", Action: rules.AllowAndClear})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(exprTypes(exprs), "Counter") {
		t.Errorf("no counter on an inlined Allow: %v", exprTypes(exprs))
	}
}

// TestInlineRefused: what inlining cannot keep the meaning of keeps the
// jump.
func TestInlineRefused(t *testing.T) {
	const g, pol = "cali-gi-g", "cali-pi-p"
	allow := ipt.Rule{Match: "-p tcp", Action: rules.AcceptAction}
	for _, tc := range []struct {
		name          string
		group, policy []ipt.Rule
	}{
		{"a match on the marks in the policy", groupOf(pol),
			[]ipt.Rule{{Match: rules.MarkMatch(rules.MarkAccept, rules.MarkAccept) + " -p udp", Action: "DROP"}}},
		{"an Allow whose return comes later", groupOf(pol),
			[]ipt.Rule{allow, {Match: "-p udp", Action: "DROP"}, rules.AcceptedReturn}},
		{"an Allow with no return after it", groupOf(pol),
			[]ipt.Rule{allow, {Match: "-p tcp -m multiport --dports 22", Action: "DROP"}}},
		{"a group with another rule after the jump", []ipt.Rule{{Action: rules.MarksCleared}, {Action: pol},
			{Match: "-p udp", Action: "DROP"}, {Action: "DROP"}}, []ipt.Rule{allow}},
		{"a jump in the policy", groupOf(pol), []ipt.Rule{{Match: "-p tcp", Action: "cali-pi-other"}}},
		{"a group that can fall through (no end-of-tier drop)", groupOf(pol)[:3], []ipt.Rule{allow}},
		{"a group of two policies", []ipt.Rule{{Action: rules.MarksCleared}, {Action: pol},
			{Match: rules.MarkMatch(0, 0x30000), Action: "cali-pi-other"}, rules.AcceptedReturn, {Action: "DROP"}},
			[]ipt.Rule{allow}},
	} {
		tab, err := Build(4, Input{IPVersion: 4, Chains: []ipt.Chain{{Name: g, Rules: tc.group}, {Name: pol, Rules: tc.policy}}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tab.Chains[g], tc.group) {
			t.Errorf("%s: the group chain became %v", tc.name, tab.Chains[g])
		}
	}
}
