package rules

import (
	"net/netip"
	"slices"
	"strings"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// The Renderer's result: the chains of the next Result, what changed
// since the last one, and the IP sets and rule IDs of every chain.

// ipSets returns the IP sets the chains use, with their members of the
// render's family (r.ipsets holds those of the uncached chains).
func (rd *Renderer) ipSets(r *renderer) map[string][]netip.Prefix {
	for _, entries := range []map[string]*ruleEntry{rd.policies, rd.profiles} {
		for _, e := range entries {
			for _, s := range e.sets {
				r.registerSet(s.name, s.sel)
			}
		}
	}
	for name := range rd.members {
		if _, ok := r.ipsets[name]; !ok {
			delete(rd.members, name)
		}
	}
	return r.ipsets
}

// ruleIDs returns the NFLOG prefixes of every chain (flow logs only).
func (rd *Renderer) ruleIDs(r *renderer) map[string]RuleID {
	if rd.key.flowLogGroup == 0 {
		return r.ruleIDs
	}
	out := r.ruleIDs
	add := func(ids map[string]RuleID) {
		for k, v := range ids {
			out[k] = v
		}
	}
	for _, e := range rd.eps {
		add(e.ids)
	}
	for _, g := range rd.groups {
		add(g.ids)
	}
	for _, entries := range []map[string]*ruleEntry{rd.policies, rd.profiles} {
		for _, e := range entries {
			add(e.ids)
		}
	}
	return out
}

// setChain sets a chain of the next Result (gotos rendered).
func (rd *Renderer) setChain(name string, rules []ipt.Rule) {
	old, ok := rd.chains[name]
	if ok && sameRules(old, rules) {
		return
	}
	if _, done := rd.touched[name]; !done {
		rd.touched[name] = prevChain{rules: old, existed: ok}
	}
	rd.chains[name] = rules
}

// removeChain drops a chain from the next Result.
func (rd *Renderer) removeChain(name string) {
	old, ok := rd.chains[name]
	if !ok {
		return
	}
	if _, done := rd.touched[name]; !done {
		rd.touched[name] = prevChain{rules: old, existed: true}
	}
	delete(rd.chains, name)
}

func sameRules(a, b []ipt.Rule) bool {
	if len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0]) {
		return true
	}
	return slices.Equal(a, b)
}

// output returns the Result's chains, sorted by name, and how they differ
// from the last Result's. Unchanged chains keep their rule slices; when no
// chain came or went, the last sorted list is copied and patched.
func (rd *Renderer) output() ([]ipt.Chain, Delta) {
	var d Delta
	structural := rd.sorted == nil && len(rd.chains) > 0
	for name, prev := range rd.touched {
		cur, now := rd.chains[name]
		switch {
		case now && !prev.existed:
			d.Changed, structural = append(d.Changed, name), true
		case now && !sameRules(prev.rules, cur):
			d.Changed = append(d.Changed, name)
		case !now && prev.existed:
			d.Removed, structural = append(d.Removed, name), true
		}
	}
	slices.Sort(d.Changed)
	slices.Sort(d.Removed)
	rd.touched = nil
	if !structural {
		out := slices.Clone(rd.sorted)
		for _, name := range d.Changed {
			out[rd.pos[name]].Rules = rd.chains[name]
		}
		rd.sorted = out
		return out, d
	}
	out := make([]ipt.Chain, 0, len(rd.chains))
	for name, rules := range rd.chains {
		out = append(out, ipt.Chain{Name: name, Rules: rules})
	}
	slices.SortFunc(out, func(a, b ipt.Chain) int { return strings.Compare(a.Name, b.Name) })
	clear(rd.pos)
	for i, c := range out {
		rd.pos[c.Name] = i
	}
	rd.sorted = out
	return out, d
}
