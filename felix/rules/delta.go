package rules

import (
	"slices"
	"strings"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// The Renderer's result: the chains of the next Result and what changed
// since the last one (IP sets and rule IDs: sets.go).

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
// chain came or went, the last sorted list is patched in place: a
// Result's Chains are the Renderer's until its next Render (at 10,000
// endpoints a copy was 1.2 MB per change, and most of the garbage a
// change made).
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
		for _, name := range d.Changed {
			rd.sorted[rd.pos[name]].Rules = rd.chains[name]
		}
		return rd.sorted, d
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
