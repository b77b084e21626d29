package nftrules

import (
	"maps"
	"slices"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// What each part holds is kept by reference counting: a part holds a
// chain or set while it exists in the Table and something the part holds
// refers to it (its base chains, a chain it holds, one of its dispatch
// maps' entries). Jumps cannot loop (the kernel refuses loops), so a
// count of zero means unreachable. A change then costs what it touches:
// a container starting or stopping adds or removes its entries and what
// only they reach; a policy gaining an egress rule retargets its chains'
// references. (Before, any change of references recomputed everything
// the part's base chains reach: ~2,500 endpoints' chains in a
// from-workload shard at 10,000 endpoints.)

// fill computes part p's content from scratch and marks it whole.
func (t *Table) fill(p *Part) {
	p.Chains, p.Sets, p.Dirty = map[string][]ipt.Rule{}, map[string]Set{}, nil
	p.chainUses, p.setUses = map[string]int{}, map[string]int{}
	p.Hooks = t.partHooks(p)
	for _, h := range p.Hooks {
		t.refAll(p, refsOf(h.Rules))
	}
}

// chainRefs returns what chain name, as the Table holds it, refers to.
func (t *Table) chainRefs(name string) chainRefs {
	r, ok := t.layout.refs[name]
	if !ok {
		r = refsOf(t.Chains[name])
		t.layout.refs[name] = r
	}
	return r
}

func (t *Table) refAll(p *Part, r chainRefs) {
	for _, c := range r.chains {
		t.refChain(p, c)
	}
	for _, s := range r.sets {
		t.refSet(p, s)
	}
}

func (t *Table) unrefAll(p *Part, r chainRefs) {
	for _, c := range r.chains {
		t.unrefChain(p, c)
	}
	for _, s := range r.sets {
		t.unrefSet(p, s)
	}
}

// count adds delta (1 or -1) to name's count in uses and reports whether
// name became used (1) or unused (0, and forgotten).
func count(uses map[string]int, name string, delta int) bool {
	n := uses[name] + delta
	if n <= 0 {
		delete(uses, name)
		return true
	}
	uses[name] = n
	return n == 1 && delta > 0
}

func (t *Table) refChain(p *Part, name string) {
	if count(p.chainUses, name, 1) {
		t.takeChain(p, name)
	}
}

func (t *Table) unrefChain(p *Part, name string) {
	if count(p.chainUses, name, -1) {
		t.dropChain(p, name)
	}
}

// takeChain adds chain name, if the Table has it, to part p with what it
// refers to.
func (t *Table) takeChain(p *Part, name string) {
	rs, ok := t.Chains[name]
	if _, held := p.Chains[name]; held || !ok {
		return
	}
	p.Chains[name] = rs
	t.hold(t.layout.holder, name, p)
	p.markChain(name)
	t.refAll(p, t.chainRefs(name))
}

// dropChain removes chain name from part p and releases what it referred
// to as p held it.
func (t *Table) dropChain(p *Part, name string) {
	rs, held := p.Chains[name]
	if !held {
		return
	}
	delete(p.Chains, name)
	delete(t.layout.holder[name], p)
	p.markChain(name)
	t.unrefAll(p, refsOf(rs))
}

func (t *Table) refSet(p *Part, name string) {
	if count(p.setUses, name, 1) {
		t.takeSet(p, name)
	}
}

func (t *Table) unrefSet(p *Part, name string) {
	if count(p.setUses, name, -1) {
		t.dropSet(p, name)
	}
}

// takeSet adds set name, if the Table has it, to part p; a shard's
// dispatch map refers to its entries' targets.
func (t *Table) takeSet(p *Part, name string) {
	if _, held := p.Sets[name]; held {
		return
	}
	if _, ok := t.Sets[name]; !ok {
		return
	}
	t.hold(t.layout.sets, name, p)
	t.refreshSet(p, name)
	for _, target := range t.targets(p, name) {
		t.refChain(p, target)
	}
}

func (t *Table) dropSet(p *Part, name string) {
	if _, held := p.Sets[name]; !held {
		return
	}
	targets := t.targets(p, name)
	delete(p.Sets, name)
	delete(t.layout.sets[name], p)
	p.markSet(name)
	for _, target := range targets {
		t.unrefChain(p, target)
	}
}

// targets lists the chains part p's set name (as p holds it) leads to:
// a shard's dispatch map's entries' targets, one per entry.
func (t *Table) targets(p *Part, name string) []string {
	if !isDispatchMap(name) || p.kind == mainPart {
		return nil
	}
	return slices.Collect(maps.Values(p.Sets[name].VMap))
}

// applyPending brings the parts up to date with the pending changes: a
// changed chain is copied into the parts holding it, which take what it
// now refers to and release what it no longer does; a chain or set gone
// from the Table leaves the parts (which keep counting their references
// to it), and one new to it joins the parts that refer to it; a dispatch
// map's entries that came, went or changed target add and release their
// targets.
func (t *Table) applyPending() {
	l := t.layout
	for name := range t.pending.Chains {
		delete(l.refs, name) // recomputed from the new content on demand
	}
	for _, name := range dispatchMaps {
		if t.pending.Sets[name] {
			t.applyDispatch(name)
		}
	}
	for name := range t.pending.Chains {
		rs, exists := t.Chains[name]
		for p := range l.holder[name] {
			if !exists {
				t.dropChain(p, name)
				continue
			}
			old := p.Chains[name]
			if slices.Equal(old, rs) {
				continue
			}
			p.Chains[name] = rs
			p.markChain(name)
			// What it refers to now first, then what it referred to: a
			// chain referred to by both keeps its count above zero.
			t.refAll(p, t.chainRefs(name))
			t.unrefAll(p, refsOf(old))
		}
		if exists {
			for _, p := range l.parts {
				if p.chainUses[name] > 0 {
					t.takeChain(p, name) // (nothing if held)
				}
			}
		}
	}
	for name := range t.pending.Sets {
		if isDispatchMap(name) {
			continue
		}
		_, exists := t.Sets[name]
		for p := range l.sets[name] {
			if exists {
				t.refreshSet(p, name)
			} else {
				t.dropSet(p, name)
			}
		}
		if exists {
			for _, p := range l.parts {
				if p.setUses[name] > 0 {
					t.takeSet(p, name)
				}
			}
		}
	}
}

// applyDispatch brings the parts' copies of dispatch map name up to date:
// patched at the interfaces that changed (the parts whose map changed
// are marked at those keys), or, when the map changed wholesale, re-split
// and compared part by part. Entries added refer to their targets, and
// entries removed release theirs.
func (t *Table) applyDispatch(name string) {
	l := t.layout
	if !t.dispatchAll[name] && l.split[name] != nil && t.Sets[name].IsVMap() {
		replaced, patch := t.patchSplit(name, t.dispatchDirty[name])
		for i := range replaced {
			p := l.parts[i]
			if _, held := p.Sets[name]; !held {
				continue // its base chains do not look it up
			}
			p.Sets[name] = t.partSet(p, name)
			p.markKeys(name, t.dispatchDirty[name])
			t.refreshEgressHook(p, t.dispatchDirty[name])
			if p.kind != mainPart {
				for _, target := range patch.added[i] {
					t.refChain(p, target)
				}
				for _, target := range patch.removed[i] {
					t.unrefChain(p, target)
				}
			}
		}
		return
	}
	delete(l.split, name)
	_, exists := t.Sets[name]
	for _, p := range l.parts {
		_, held := p.Sets[name]
		switch {
		case !held && exists && p.setUses[name] > 0:
			t.takeSet(p, name)
			continue
		case !held:
			continue
		case !exists:
			t.dropSet(p, name)
			continue
		}
		old, now := t.targets(p, name), t.partSet(p, name)
		if maps.Equal(p.Sets[name].VMap, now.VMap) {
			continue
		}
		t.refreshSet(p, name)
		t.refreshEgressHook(p, nil)
		for _, target := range t.targets(p, name) {
			t.refChain(p, target)
		}
		for _, target := range old {
			t.unrefChain(p, target)
		}
	}
}

// refreshSet copies set name's content into part p and marks it whole.
func (t *Table) refreshSet(p *Part, name string) {
	p.Sets[name] = t.partSet(p, name)
	p.markSet(name)
}
