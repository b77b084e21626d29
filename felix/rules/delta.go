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
// from the last Result's. Unchanged chains keep their rule slices, and the
// last sorted list is patched in place: a Result's Chains are the
// Renderer's until its next Render (at 10,000 endpoints a copy was 1.2 MB
// per change, and most of the garbage a change made). A few chains that
// came or went (an endpoint's) are inserted or deleted where they sort;
// only many (more than patchLimit) rebuild and sort the list, which took
// ~15 ms of a container start at 10,000 endpoints.
func (rd *Renderer) output() ([]ipt.Chain, Delta) {
	var d Delta
	var added int
	for name, prev := range rd.touched {
		cur, now := rd.chains[name]
		switch {
		case now && !prev.existed:
			d.Changed = append(d.Changed, name)
			added++
		case now && !sameRules(prev.rules, cur):
			d.Changed = append(d.Changed, name)
		case !now && prev.existed:
			d.Removed = append(d.Removed, name)
		}
	}
	slices.Sort(d.Changed)
	slices.Sort(d.Removed)
	rd.touched = nil
	if moved := rd.dispatchMoved; moved != nil &&
		(slices.Contains(d.Changed, ChainFromDispatch) || slices.Contains(d.Changed, ChainToDispatch)) {
		d.Dispatch = make(map[string]bool, len(moved))
		for iface := range moved {
			d.Dispatch[iface] = rd.eps[iface] != nil
		}
	}
	rd.dispatchMoved = nil
	if rd.sorted == nil || added+len(d.Removed) > patchLimit {
		rd.sorted = make([]ipt.Chain, 0, len(rd.chains))
		for name, rules := range rd.chains {
			rd.sorted = append(rd.sorted, ipt.Chain{Name: name, Rules: rules})
		}
		slices.SortFunc(rd.sorted, byName)
		return rd.sorted, d
	}
	for _, name := range d.Removed {
		if i, ok := slices.BinarySearchFunc(rd.sorted, name, nameIs); ok {
			rd.sorted = slices.Delete(rd.sorted, i, i+1)
		}
	}
	for _, name := range d.Changed {
		i, ok := slices.BinarySearchFunc(rd.sorted, name, nameIs)
		if ok {
			rd.sorted[i].Rules = rd.chains[name]
		} else {
			rd.sorted = slices.Insert(rd.sorted, i, ipt.Chain{Name: name, Rules: rd.chains[name]})
		}
	}
	return rd.sorted, d
}

// patchLimit is how many chains may come or go in one render for output
// to patch the sorted list rather than rebuild it (each insertion moves
// the list's tail).
const patchLimit = 64

func byName(a, b ipt.Chain) int { return strings.Compare(a.Name, b.Name) }

func nameIs(c ipt.Chain, name string) int { return strings.Compare(c.Name, name) }
