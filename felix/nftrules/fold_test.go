package nftrules

import (
	"maps"
	"slices"
	"testing"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// An endpoint chain that is only a goto is folded into its dispatch
// entry (no part holds it) and unfolded as soon as it is more; either way
// the parts stay closed and patched parts equal ones split from scratch.
func TestLoneGotoChainsFolded(t *testing.T) {
	tab := scaleTable(t, 20)
	var iface, tw string
	for i, c := range tab.dispatch[rules.ChainToDispatch] {
		if _, ok := loneGoto(tab.Chains[c]); ok {
			iface, tw = i, c
			break
		}
	}
	if tw == "" {
		t.Fatal("no endpoint's ingress chain is a lone goto at 20 × 20")
	}
	target, _ := loneGoto(tab.Chains[tw])
	holding := func() (chainHeld bool, to string) {
		for _, p := range tab.Parts() {
			checkClosed(t, p)
			if _, ok := p.Chains[tw]; ok {
				chainHeld = true
			}
			if d, ok := p.Sets[rules.ChainToDispatch].VMap[iface]; ok && d != ReturnTarget {
				to = d
			}
		}
		return chainHeld, to
	}
	if held, to := holding(); held || to != target {
		t.Errorf("lone goto %s: held %v, entry to %s; want folded into an entry to %s", tw, held, to, target)
	}
	tab.Reset()
	two := []ipt.Rule{{Match: "-p udp", Action: "DROP"}, {Match: "-g " + target}}
	tab.SetChain(ipt.Chain{Name: tw, Rules: two})
	if held, to := holding(); !held || to != tw {
		t.Errorf("%s with two rules: held %v, entry to %s; want it held and the entry to it", tw, held, to)
	}
	tab.Reset()
	tab.SetChain(ipt.Chain{Name: tw, Rules: []ipt.Rule{{Match: "-g " + target}}})
	if held, to := holding(); held || to != target {
		t.Errorf("%s a lone goto again: held %v, entry to %s; want the entry to %s", tw, held, to, target)
	}
	fresh := scaleTable(t, 20)
	for i, p := range tab.Parts() {
		if q := fresh.Parts()[i]; !maps.EqualFunc(p.Chains, q.Chains, slices.Equal) || !maps.EqualFunc(p.Sets, q.Sets, sameSet) {
			t.Errorf("part %s patched differs from one split from scratch", p.Name)
		}
	}
}
