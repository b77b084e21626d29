package policy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestIncrementalRenderEqualsScratch is the property test of the
// incremental render: a Calculator fed random sequences of changes
// (endpoints, profiles, policies with tiers, network sets, host endpoints
// with normal, applyOnForward and untracked policy, full resyncs, and
// changes of the flow-log group) must, at every render, return exactly
// what a from-scratch render of a plain calc.Model with the same changes
// returns; its Delta applied to the previous render's chains must give
// the new chains, and its set delta applied to the previous render's IP
// sets the new sets (a render never modifies an earlier Result's maps);
// and an nftables table patched with that Delta, as the nftables
// dataplane does, must equal one built from scratch.
func TestIncrementalRenderEqualsScratch(t *testing.T) {
	renders := 0
	for seed := range uint64(30) {
		w := &world{r: rand.New(rand.NewPCG(seed, 3)), state: map[string]model.Update{}}
		cfg := Config{NodeName: "h1", IPVersions: []int{4, 6}}
		c, m := NewCalculator(cfg), calc.NewModel()
		full := model.SyncEvent{Full: true}
		c.Apply(full)
		m.Apply(full)
		last := map[int]rules.Result{}
		kept := map[int]rules.Result{} // deep copies of last's IP sets and rule IDs
		// last's chains as it returned them: a Result's Chains are the
		// Renderer's until its next render, which patches them in place.
		keptChains := map[int]map[string][]ipt.Rule{}
		tables := map[int]*nftrules.Table{}
		for step := range 80 {
			ev := w.incrementalChange()
			c.Apply(ev)
			m.Apply(ev)
			if w.r.IntN(12) == 0 { // flow logs on or off: every cache is dropped
				cfg.FlowLogGroup = uint16(w.r.IntN(2))
				c.SetConfig(cfg)
			}
			if w.r.IntN(3) == 0 && step != 79 {
				continue // changes pile up between renders, as events coalesce
			}
			got := c.Render()
			renders++
			for _, v := range cfg.IPVersions {
				want := rules.Render(m, "h1", rules.Config{IPVersion: v, FlowLogGroup: cfg.FlowLogGroup})
				what := fmt.Sprintf("seed %d step %d IPv%d", seed, step, v)
				checkIncremental(t, what, keptChains[v], got[v], want)
				keptChains[v] = chainMap(got[v].Chains)
				checkSetDelta(t, what, last[v], kept[v], got[v])
				kept[v] = rules.Result{IPSets: cloneSets(got[v].IPSets), RuleIDs: maps.Clone(got[v].RuleIDs)}
				tables[v] = checkNftPatch(t, what, v, tables[v], last[v], got[v])
				last[v] = got[v]
			}
			checkHolds(t, fmt.Sprintf("seed %d step %d", seed, step), c, got)
		}
	}
	t.Logf("%d renders compared", renders)
}

// chainMap is chains by name.
func chainMap(chains []ipt.Chain) map[string][]ipt.Rule {
	m := make(map[string][]ipt.Rule, len(chains))
	for _, ch := range chains {
		m[ch.Name] = ch.Rules
	}
	return m
}

// checkIncremental compares an incremental result with a from-scratch one
// and checks its delta against the previous result's chains.
func checkIncremental(t *testing.T, what string, prev map[string][]ipt.Rule, got, want rules.Result) {
	t.Helper()
	if !reflect.DeepEqual(withoutDelta(got), withoutDelta(want)) {
		t.Fatalf("%s: incremental render differs from a render from scratch:\n%s", what, resultDiff(got, want))
	}
	if !got.Delta.Incremental {
		return
	}
	chains := maps.Clone(prev)
	for _, name := range got.Delta.Removed {
		delete(chains, name)
	}
	gotChains := map[string][]ipt.Rule{}
	for _, ch := range got.Chains {
		gotChains[ch.Name] = ch.Rules
		if slices.Contains(got.Delta.Changed, ch.Name) {
			chains[ch.Name] = ch.Rules
		}
	}
	if !maps.EqualFunc(chains, gotChains, func(a, b []ipt.Rule) bool { return slices.Equal(a, b) }) {
		t.Fatalf("%s: the previous chains with Delta %+v applied are not the new chains", what, got.Delta)
	}
	if got.Delta.Dispatch == nil {
		return
	}
	// The interfaces Delta.Dispatch says came or went turn the previous
	// dispatch chains' interfaces into the new ones'.
	for _, name := range []string{rules.ChainFromDispatch, rules.ChainToDispatch} {
		ifaces := dispatchIfaces(prev[name])
		for iface, present := range got.Delta.Dispatch {
			if present {
				ifaces[iface] = true
			} else {
				delete(ifaces, iface)
			}
		}
		if want := dispatchIfaces(gotChains[name]); !maps.Equal(ifaces, want) {
			t.Fatalf("%s: %s's interfaces with Delta.Dispatch %v applied are %v, want %v", what, name, got.Delta.Dispatch, ifaces, want)
		}
	}
}

// dispatchIfaces is the set of interfaces a dispatch chain has rules for
// (each "-i|-o <iface> -g <chain>").
func dispatchIfaces(rs []ipt.Rule) map[string]bool {
	out := map[string]bool{}
	for _, r := range rs {
		if f := strings.Fields(r.Match); len(f) == 4 && f[2] == "-g" {
			out[f[1]] = true
		}
	}
	return out
}

// checkNftPatch patches t (built from prev) with got's delta, as the
// nftables dataplane does, and checks it equals a table built from got
// from scratch; it returns the table to patch next.
func checkNftPatch(t *testing.T, what string, v int, tab *nftrules.Table, prev, got rules.Result) *nftrules.Table {
	t.Helper()
	want, err := nftrules.Build(v, nftrules.PolicyInputs(v, got)...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if tab == nil || !got.Delta.Incremental || !reflect.DeepEqual(prev.Raw, got.Raw) || !reflect.DeepEqual(prev.Mangle, got.Mangle) {
		return want
	}
	tab.ApplyDelta(got.Delta, got.Chains, got.IPSets)
	if !reflect.DeepEqual(tab.Chains, want.Chains) || !reflect.DeepEqual(tab.Sets, want.Sets) {
		t.Fatalf("%s: the nftables table patched with the delta differs from one built from scratch", what)
	}
	return tab
}

// checkSetDelta checks that prev's IP sets and rule IDs are still what
// they were when it was returned (kept), and that got's set delta applied
// to them gives got's sets (and unchanged rule IDs are equal).
func checkSetDelta(t *testing.T, what string, prev, kept, got rules.Result) {
	t.Helper()
	if !got.Delta.Incremental {
		return
	}
	if !reflect.DeepEqual(prev.IPSets, kept.IPSets) || !maps.Equal(prev.RuleIDs, kept.RuleIDs) {
		t.Fatalf("%s: the render modified the previous Result's IP sets or rule IDs", what)
	}
	sets := cloneSets(kept.IPSets)
	for _, name := range got.Delta.SetsRemoved {
		delete(sets, name)
	}
	for _, name := range got.Delta.SetsChanged {
		sets[name] = got.IPSets[name]
	}
	if !maps.EqualFunc(sets, got.IPSets, func(a, b []netip.Prefix) bool { return slices.Equal(a, b) }) {
		t.Fatalf("%s: the previous IP sets with Delta %+v applied are not the new sets", what, got.Delta)
	}
	if !got.Delta.RuleIDsChanged && !maps.Equal(kept.RuleIDs, got.RuleIDs) {
		t.Fatalf("%s: rule IDs changed but Delta.RuleIDsChanged is false", what)
	}
}

func cloneSets(sets map[string][]netip.Prefix) map[string][]netip.Prefix {
	out := make(map[string][]netip.Prefix, len(sets))
	for name, members := range sets {
		out[name] = slices.Clone(members)
	}
	return out
}

// checkHolds checks that the renderers hold (rules.Tracker) no more of
// the Index's member sets than their results use: a set no chain uses any
// more is released, so the Index stops tracking it.
func checkHolds(t *testing.T, what string, c *Calculator, got map[int]rules.Result) {
	t.Helper()
	holds, sets := 0, 0
	for _, ms := range c.index.members {
		holds += ms.holds
	}
	for _, res := range got {
		sets += len(res.IPSets)
	}
	if holds > sets {
		t.Fatalf("%s: renderers hold %d member sets, their results have %d IP sets", what, holds, sets)
	}
}

// withoutDelta is r with no Delta (a render from scratch has none).
func withoutDelta(r rules.Result) rules.Result {
	r.Delta = rules.Delta{}
	return r
}

// incrementalChange is world.change with endpoint churn (some endpoints
// sharing, changing or losing their interface) and host endpoints (and
// their policies) added.
func (w *world) incrementalChange() model.SyncEvent {
	switch w.r.IntN(6) {
	case 0:
		if w.r.IntN(3) == 0 { // an endpoint moving to another's interface, or to none
			ep := w.endpoint(w.r.IntN(10)).(*resources.WorkloadEndpoint)
			ep.Spec.InterfaceName = w.pick(rules.ScaleIface(1), rules.ScaleIface(2), rules.ScaleIface(99), "")
			return model.SyncEvent{Updates: []model.Update{w.setOrDelete(ep)}}
		}
		return model.SyncEvent{Updates: []model.Update{w.endpointChange()}}
	case 1:
		return model.SyncEvent{Updates: []model.Update{w.setOrDelete(w.hostEndpoint(w.r.IntN(3)))}}
	case 2:
		return model.SyncEvent{Updates: []model.Update{w.setOrDelete(w.hostPolicy(w.r.IntN(3)))}}
	}
	return w.change()
}

// hostEndpoint is a host endpoint of h1 (or h2) on a named interface or
// all of them, with labels the test selectors match.
func (w *world) hostEndpoint(i int) resources.Resource {
	h := resources.NewHostEndpoint(fmt.Sprintf("hep%d", i))
	h.Spec.Node = w.pick("h1", "h1", "h2")
	h.Spec.InterfaceName = w.pick("eth0", "eth1", "*")
	h.Spec.ExpectedIPs = []string{fmt.Sprintf("10.0.1.%d", i)}
	if w.r.IntN(2) == 0 {
		h.Spec.Profiles = []string{w.pick("p0", "p1")}
	}
	h.Labels = map[string]string{"role": w.pick("a", "b", "c")}
	return h
}

// hostPolicy is a policy for host endpoints: normal, applyOnForward or
// untracked.
func (w *world) hostPolicy(i int) resources.Resource {
	p := resources.NewGlobalNetworkPolicy(fmt.Sprintf("hp%d", i))
	p.Spec.Selector = w.pick(testSelectors...)
	p.Spec.Tier = w.pick("", "t1")
	switch w.r.IntN(3) {
	case 0:
		p.Spec.ApplyOnForward = true
	case 1:
		p.Spec.ApplyOnForward, p.Spec.DoNotTrack = true, true
	}
	p.Spec.Ingress = []resources.Rule{{Action: w.pick(resources.ActionAllow, resources.ActionDeny),
		Source: resources.EntityRule{Selector: w.pick(testSelectors...)}}}
	p.Spec.Egress = []resources.Rule{{Action: resources.ActionAllow}}
	p.Default()
	return p
}

// resultDiff describes how two results differ, chain by chain.
func resultDiff(got, want rules.Result) string {
	var out string
	g, w := map[string][]ipt.Rule{}, map[string][]ipt.Rule{}
	for _, c := range got.Chains {
		g[c.Name] = c.Rules
	}
	for _, c := range want.Chains {
		w[c.Name] = c.Rules
	}
	for name, rs := range g {
		if wr, ok := w[name]; !ok || !slices.Equal(rs, wr) {
			out += fmt.Sprintf("chain %s: got %v, want %v (present: %v)\n", name, rs, wr, ok)
		}
	}
	for name, wr := range w {
		if _, ok := g[name]; !ok {
			out += fmt.Sprintf("chain %s missing: want %v\n", name, wr)
		}
	}
	if !reflect.DeepEqual(got.IPSets, want.IPSets) {
		out += fmt.Sprintf("IP sets: got %v, want %v\n", got.IPSets, want.IPSets)
	}
	if !reflect.DeepEqual(got.RuleIDs, want.RuleIDs) {
		out += fmt.Sprintf("rule IDs: got %v, want %v\n", got.RuleIDs, want.RuleIDs)
	}
	if !reflect.DeepEqual(got.Raw, want.Raw) || !reflect.DeepEqual(got.Mangle, want.Mangle) || !reflect.DeepEqual(got.Inserts, want.Inserts) {
		out += "raw, mangle or inserts differ\n"
	}
	return out
}

// TestIncrementalRenderSharedInterfaces: the cases of endpoints and
// interfaces that the renderer's per-endpoint path must leave to its full
// pass, each in one batch of changes, compared with a render from scratch
// (and the nftables table patched with the delta with one built anew).
func TestIncrementalRenderSharedInterfaces(t *testing.T) {
	ep := func(i int, iface string) model.Update {
		wep := resources.NewWorkloadEndpoint(fmt.Sprintf("w%d", i))
		wep.Spec.Node, wep.Spec.InterfaceName = "h1", iface
		wep.Spec.IPNetworks = []string{fmt.Sprintf("10.0.0.%d/32", i)}
		wep.Spec.Profiles = []string{"p0"}
		wep.Labels = map[string]string{"role": "a"}
		return model.UpdateOf(wep)
	}
	gone := func(i int) model.Update {
		return model.Update{Kind: resources.KindWorkloadEndpoint, Namespace: "default", Name: fmt.Sprintf("w%d", i)}
	}
	own := func(i int) string { return fmt.Sprintf("cali%011d", i) }
	steps := []struct {
		name string
		ups  []model.Update
	}{
		{"start", []model.Update{ep(1, own(1)), ep(2, own(2)), ep(3, own(3))}},
		{"two new endpoints take one free interface", []model.Update{ep(4, "cali99"), ep(5, "cali99")}},
		{"one of the two goes", []model.Update{gone(5)}},
		{"an endpoint moves to another's interface", []model.Update{ep(2, own(1))}},
		{"the interface's first holder goes", []model.Update{gone(1)}},
		{"an endpoint loses its interface", []model.Update{ep(3, "")}},
		{"it gets it back and another comes", []model.Update{ep(3, own(3)), ep(6, own(6))}},
		{"one leaves a shared interface for a free one", []model.Update{ep(4, own(4))}},
	}
	cfg := Config{NodeName: "h1", IPVersions: []int{4}}
	c, m := NewCalculator(cfg), calc.NewModel()
	for _, ev := range []model.SyncEvent{{Full: true}, {Updates: []model.Update{model.UpdateOf(resources.NewProfile("p0"))}}} {
		c.Apply(ev)
		m.Apply(ev)
	}
	last := c.Render()[4]
	keptChains := chainMap(last.Chains)
	tab := checkNftPatch(t, "the profile", 4, nil, last, last)
	for _, s := range steps {
		ev := model.SyncEvent{Updates: s.ups}
		c.Apply(ev)
		m.Apply(ev)
		got := c.Render()[4]
		want := rules.Render(m, "h1", rules.Config{IPVersion: 4})
		checkIncremental(t, s.name, keptChains, got, want)
		keptChains = chainMap(got.Chains)
		tab = checkNftPatch(t, s.name, 4, tab, last, got)
		last = got
	}
}
