package nftrules

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

func scaleTable(t *testing.T, n int) *Table { return scaleTableWith(t, n, nil) }

// scaleTableWith is scaleTable with edit applied to the rendered chains
// first (nil: none).
func scaleTableWith(t *testing.T, n int, edit func(chains []ipt.Chain)) *Table {
	return scaleTableOpts(t, Options{}, n, edit)
}

// scaleTableOpts is scaleTableWith laid out with o (flow logs on: every
// endpoint's from-workload chain logs its drops, so none is folded into
// the source map).
func scaleTableOpts(t *testing.T, o Options, n int, edit func(chains []ipt.Chain)) *Table {
	return scaleTableCfg(t, o, rules.Config{IPVersion: 4, FlowLogGroup: 1}, n, edit)
}

// scaleTableCfg is scaleTableOpts rendered with cfg.
func scaleTableCfg(t *testing.T, o Options, cfg rules.Config, n int, edit func(chains []ipt.Chain)) *Table {
	t.Helper()
	m, err := rules.ScaleModel(n, n)
	if err != nil {
		t.Fatal(err)
	}
	res := rules.Render(m, "h1", cfg)
	if edit != nil {
		edit(res.Chains)
	}
	tab, err := BuildWith(o, 4, Input{IPVersion: 4, Chains: res.Chains, Inserts: res.Inserts, IPSets: res.IPSets})
	if err != nil {
		t.Fatal(err)
	}
	tab.ShardSize = testShardSize
	return tab
}

// testShardSize makes several shards of a few hundred endpoints.
const testShardSize = 256

// checkClosed fails unless every chain and set a part's rules refer to
// is in the part, and its dispatch maps lead only to its own chains.
func checkClosed(t *testing.T, p *Part) {
	t.Helper()
	check := func(where string, rs []ipt.Rule) {
		for _, r := range rs {
			f := strings.Fields(r.Match)
			for i := 1; i < len(f); i++ {
				if f[i-1] == "-g" {
					if _, ok := p.Chains[f[i]]; !ok {
						t.Errorf("%s: %s goes to %s, not in the table", p.Name, where, f[i])
					}
				}
				if f[i-1] == "--match-set" || f[i-1] == "vmap" {
					if _, ok := p.Sets[SetName(f[i])]; !ok {
						t.Errorf("%s: %s matches set %s, not in the table", p.Name, where, f[i])
					}
				}
			}
			if a, _, _ := strings.Cut(r.Action, " "); strings.HasPrefix(a, "cali-") {
				if _, ok := p.Chains[a]; !ok {
					t.Errorf("%s: %s jumps to %s, not in the table", p.Name, where, a)
				}
			}
		}
	}
	for name, rs := range p.Chains {
		check(name, rs)
	}
	for _, h := range p.Hooks {
		check(h.Name, h.Rules)
	}
	for name, s := range p.Sets {
		for iface, target := range s.VMap {
			if _, ok := p.Chains[target]; !ok && target != ReturnTarget {
				t.Errorf("%s: map %s sends %s to %s, not in the table", p.Name, name, iface, target)
			}
		}
	}
}

// The endpoints are spread over shards of each direction (for 600: one
// from-workload shard, four to-workload ones), each shard holds its
// endpoints' chains of its direction with all they reach, and the main
// table only checks that an interface is known.
func TestPartsSplitEndpoints(t *testing.T) {
	tab := scaleTable(t, 600)
	parts := tab.Parts()
	if len(parts) != 6 || parts[0].Name != TableName || parts[1].Name != ShardName(0) {
		t.Fatalf("%d parts, want the main table and 1 + 4 shards", len(parts))
	}
	for _, p := range parts {
		checkClosed(t, p)
	}
	main := parts[0]
	for name := range main.Chains {
		if strings.HasPrefix(name, "cali-fw-") || strings.HasPrefix(name, "cali-tw-") || strings.HasPrefix(name, "cali-pi-") {
			t.Errorf("main table holds workload chain %s", name)
		}
	}
	if got := main.Sets[rules.ChainToDispatch].VMap; len(got) != 600 || got[rules.ScaleIface(7)] != ReturnTarget {
		t.Errorf("main table's to-workload map: %d entries, %s -> %q; want 600, each returning", len(got), rules.ScaleIface(7), got[rules.ScaleIface(7)])
	}
	for i, dir := range []struct {
		parts         []*Part
		hooks         []string
		dispatch, not string
		ingress       bool
	}{
		{parts[1:2], []string{"wl-forward-from", "wl-input-from"}, rules.ChainFromDispatch, rules.ChainToDispatch, false},
		{parts[2:], []string{"wl-forward-to"}, rules.ChainToDispatch, rules.ChainFromDispatch, true},
	} {
		held := map[string]int{}
		for _, p := range dir.parts {
			var hooks []string
			for _, h := range p.Hooks {
				hooks = append(hooks, h.Name)
			}
			if !slices.Equal(hooks, dir.hooks) || len(p.Sets[dir.dispatch].VMap) == 0 {
				t.Errorf("shard %s: hooks %v (want %v), %d endpoints", p.Name, hooks, dir.hooks, len(p.Sets[dir.dispatch].VMap))
			}
			if _, ok := p.Sets[dir.not]; ok {
				t.Errorf("shard %s holds the other direction's map %s", p.Name, dir.not)
			}
			for name := range p.Chains {
				if strings.HasPrefix(name, rules.EndpointChain("", dir.ingress)) {
					t.Errorf("shard %s holds the other direction's chain %s", p.Name, name)
				}
			}
			for iface := range p.Sets[dir.dispatch].VMap {
				held[iface]++
				// (an ingress chain that is only a goto is folded into the
				// map: checkClosed checks where the map leads)
				if _, ok := p.Chains[rules.EndpointChain(iface, true)]; !ok && !dir.ingress {
					t.Errorf("shard %s maps %s but lacks its chain", p.Name, iface)
				}
			}
		}
		if len(held) != 600 || slices.Max(slices.Collect(maps.Values(held))) != 1 {
			t.Errorf("direction %d: %d endpoints in shards (want 600, each once)", i, len(held))
		}
	}
}

func TestShardNames(t *testing.T) {
	for name, want := range map[string]bool{ShardName(0): true, ShardName(31): true, TableName: false,
		TableName + "-wl": false, TableName + "-wl01": false, TableName + "-wlx": false, "filter": false} {
		if IsShardName(name) != want {
			t.Errorf("IsShardName(%q) = %v", name, !want)
		}
	}
}

// A Table patched toward another one (chain by chain, set by set, as
// felix patches with a render's delta) splits as the other one split
// from scratch with the same shard count, and every difference is in the
// parts' Dirty lists. The endpoint count crosses the shard boundaries
// both ways (the patched one keeps its count on the way down).
func TestPartsFollowChanges(t *testing.T) {
	for _, o := range []Options{{}, {Egress: true}} {
		for _, logs := range []uint16{1, 0} {
			t.Run(fmt.Sprintf("egress=%v/flowlogs=%v", o.Egress, logs != 0), func(t *testing.T) {
				testPartsFollowChanges(t, o, rules.Config{IPVersion: 4, FlowLogGroup: logs})
			})
		}
	}
}

// Without flow logs the from-workload chains are folded into the source
// map; some gain a rule of their own (unfolded), some a second address or
// another one (their elements change, their dispatch entry does not).
func testPartsFollowChanges(t *testing.T, o Options, cfg rules.Config) {
	rng := rand.New(rand.NewPCG(7, 15))
	tab := scaleTableCfg(t, o, cfg, 100, nil)
	tab.Parts()
	tab.Reset()
	for step, n := range []int{100, 120, 129, 260, 250, 200, 60, 10, 0, 40} {
		// Some endpoints' ingress chains gain a rule of their own, so
		// their dispatch entry no longer goes straight to their group
		// chain (folded) but to them, or lose it again: an entry
		// retargeted, its old target maybe unreachable.
		// Some policies match another policy's set instead of their own
		// (a reference changed: the old set may be reachable no more in
		// its shard, the new one may be new to it).
		want := scaleTableCfg(t, o, cfg, n, func(chains []ipt.Chain) {
			var sets []string
			for _, ch := range chains {
				if strings.HasPrefix(ch.Name, "cali-pi-") {
					for _, r := range ch.Rules {
						if f := strings.Fields(r.Match); slices.Contains(f, "--match-set") {
							sets = append(sets, f[slices.Index(f, "--match-set")+1])
						}
					}
				}
			}
			for i, ch := range chains {
				if strings.HasPrefix(ch.Name, "cali-fw-") && len(ch.Rules) == 3 {
					rs := slices.Clone(ch.Rules)
					switch rng.IntN(8) {
					case 0:
						rs = append([]ipt.Rule{{Match: "-p udp", Action: "DROP"}}, rs...)
					case 1:
						rs[1].Match = strings.Replace(rs[1].Match, "10.", "10.99.", 1)
						rs[1].Match = strings.Replace(rs[1].Match, ".0.", ".", 1)
					case 2:
						rs = slices.Insert(rs, 2, ipt.Rule{Match: fmt.Sprintf("-s 10.200.0.%d/32 -g %s", rng.IntN(250), strings.Fields(rs[1].Match)[3])})
					}
					chains[i].Rules = rs
				}
				if strings.HasPrefix(ch.Name, "cali-tw-") && rng.IntN(4) == 0 {
					chains[i].Rules = append([]ipt.Rule{{Match: "-p udp", Action: "DROP"}}, ch.Rules...)
				}
				if strings.HasPrefix(ch.Name, "cali-pi-") && len(sets) > 0 && rng.IntN(6) == 0 {
					other := sets[rng.IntN(len(sets))]
					rs := slices.Clone(ch.Rules)
					for j, r := range rs {
						f := strings.Fields(r.Match)
						if k := slices.Index(f, "--match-set"); k >= 0 {
							f[k+1] = other
							rs[j].Match = strings.Join(f, " ")
						}
					}
					chains[i].Rules = rs
				}
			}
		})
		for name, rs := range want.Chains { // some policies edited too
			if strings.HasPrefix(name, "cali-pi-") && rng.IntN(10) == 0 {
				want.SetChain(ipt.Chain{Name: name, Rules: append(slices.Clone(rs), ipt.Rule{Match: fmt.Sprintf("-p tcp -m multiport --dports %d", step+1), Action: "DROP"})})
			}
		}
		if folded := len(want.Sets[SourceMap].VMap); (cfg.FlowLogGroup == 0 && n > 0) != (folded > 0) {
			t.Fatalf("step %d: %d elements in %s with flow logs %v", step, folded, SourceMap, cfg.FlowLogGroup != 0)
		}
		before := snapshot(tab.Parts())
		patchToward(tab, want)
		got := tab.Parts()
		fresh := cloneUniverse(want)
		fresh.relayout(tab.layout.k)
		if len(got) != len(fresh.layout.parts) {
			t.Fatalf("step %d: %d parts, want %d", step, len(got), len(fresh.layout.parts))
		}
		for i, p := range got {
			f := fresh.layout.parts[i]
			if !maps.EqualFunc(p.Chains, f.Chains, slices.Equal) || !maps.EqualFunc(p.Sets, f.Sets, sameSet) ||
				!slices.EqualFunc(p.Hooks, f.Hooks, sameHook) || p.Name != f.Name || p.Netdev != f.Netdev {
				t.Logf("hooks: got %v, want %v", p.Hooks, f.Hooks)
				for name := range mergeKeys(p.Chains, f.Chains) {
					if !slices.Equal(p.Chains[name], f.Chains[name]) {
						t.Logf("chain %s: got %v, want %v", name, p.Chains[name], f.Chains[name])
					}
				}
				for name := range mergeKeys(p.Sets, f.Sets) {
					if !sameSet(p.Sets[name], f.Sets[name]) {
						t.Logf("set %s: got %v, want %v", name, p.Sets[name], f.Sets[name])
					}
				}
				t.Fatalf("step %d (%d endpoints): part %s differs from a fresh split", step, n, p.Name)
			}
			checkClosed(t, p)
			if b, ok := before[p.Name]; ok && p.Dirty != nil {
				checkDirty(t, step, p, b)
			}
		}
		tab.Reset()
	}
}

type partSnap struct {
	chains map[string][]ipt.Rule
	sets   map[string]Set
}

func snapshot(parts []*Part) map[string]partSnap {
	out := map[string]partSnap{}
	for _, p := range parts {
		out[p.Name] = partSnap{maps.Clone(p.Chains), maps.Clone(p.Sets)}
	}
	return out
}

func checkDirty(t *testing.T, step int, p *Part, b partSnap) {
	t.Helper()
	for name := range mergeKeys(b.chains, p.Chains) {
		old, had := b.chains[name]
		now, has := p.Chains[name]
		if (had != has || !slices.Equal(old, now)) && !p.Dirty.Chains[name] {
			t.Errorf("step %d: %s chain %s changed but is not dirty", step, p.Name, name)
		}
	}
	for name := range mergeKeys(b.sets, p.Sets) {
		old, had := b.sets[name]
		now, has := p.Sets[name]
		if (had != has || !sameSet(old, now)) && !p.Dirty.Sets[name] {
			t.Errorf("step %d: %s set %s changed but is not dirty", step, p.Name, name)
		}
		keys, ok := p.Dirty.Keys[name]
		if !ok {
			continue
		}
		if !had || !has {
			t.Errorf("step %d: %s map %s came or went, yet only keys %v are marked", step, p.Name, name, keys)
		}
		for iface := range mergeKeys(old.VMap, now.VMap) {
			was, in := old.VMap[iface]
			is, still := now.VMap[iface]
			if (in != still || was != is) && !keys[iface] {
				t.Errorf("step %d: %s map %s changed at %s, not among its marked keys", step, p.Name, name, iface)
			}
		}
	}
	for name, keys := range p.Dirty.Keys {
		if keys == nil || !p.Dirty.Sets[name] {
			t.Errorf("step %d: %s map %s has keys marked but is not dirty", step, p.Name, name)
		}
	}
}

func mergeKeys[V any](a, b map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func sameSet(a, b Set) bool {
	return slices.Equal(a.Prefixes, b.Prefixes) && maps.Equal(a.VMap, b.VMap)
}

// patchToward changes tab into want through SetChain, RemoveChain and
// SetIPSet, in random order.
func patchToward(tab, want *Table) {
	for name, rs := range want.Chains {
		if _, dispatch := dispatchFlags[name]; dispatch {
			// Back to the dispatch chain felix/rules renders (not folded).
			var src []ipt.Rule
			for iface, chain := range want.dispatch[name] {
				src = append(src, ipt.Rule{Match: dispatchFlags[name] + " " + iface + " -g " + chain})
			}
			tab.SetChain(ipt.Chain{Name: name, Rules: append(src, rs[1:]...)})
			continue
		}
		rs = want.renderedChain(name) // a group chain as rendered, not with its policy inlined
		if old, ok := tab.renderedChain(name), tab.Chains[name] != nil; !ok || !slices.Equal(old, rs) {
			tab.SetChain(ipt.Chain{Name: name, Rules: rs})
		}
	}
	for name := range tab.Chains {
		if _, ok := want.Chains[name]; !ok {
			tab.RemoveChain(name)
		}
	}
	for name, s := range want.Sets {
		if old, ok := tab.Sets[name]; !s.IsVMap() && (!ok || !sameSet(old, s)) {
			tab.SetIPSet(name, s.Prefixes, false)
		}
	}
	for name, s := range tab.Sets {
		if _, ok := want.Sets[name]; !ok && !s.IsVMap() {
			tab.SetIPSet(name, nil, true)
		}
	}
}

func cloneUniverse(t *Table) *Table {
	return &Table{IPVersion: t.IPVersion, Chains: maps.Clone(t.Chains), Hooks: t.Hooks, Sets: maps.Clone(t.Sets), ShardSize: t.ShardSize, egress: t.egress}
}

func sameHook(a, b Hook) bool {
	return a.Name == b.Name && a.Hook == b.Hook && a.Priority == b.Priority && slices.Equal(a.Rules, b.Rules) && slices.Equal(a.Devices, b.Devices)
}
