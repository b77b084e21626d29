package rules

import (
	"maps"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/selector"
)

// The IP sets and rule IDs of the incremental render. A Result's IPSets
// and RuleIDs are complete, but a render touches only the entries a change
// can affect: the sets a re-rendered chain starts or stops using, those
// the host endpoints' chains (rendered every time) use, and those whose
// members the Source says changed. Each Result's maps are snapshots: an
// unchanged map is handed out again as it is (the same map), a changed
// one is copied once and patched (cowMap).

// Tracker is a Source that tracks what changed between renders
// (policy.Index). A Renderer reading one renders again rendering only the
// endpoints and fetches the members of only the selectors it names, not
// every endpoint and set; without one, every endpoint's policy lists and
// every set's members are fetched (and compared) on every render.
type Tracker interface {
	// Epoch numbers the Source's states: it grows by one from one
	// render round to the next (policy.Index.BeginRender).
	Epoch() uint64
	// ChangedMembers returns the UniqueIDs of the selectors whose members
	// may differ from those of the last epoch; all: any may.
	ChangedMembers() (ids []string, all bool)
	// ChangedEndpoints returns the keys of the endpoints that are or were
	// local whose object or policy lists may differ from those of the
	// last epoch; all: any may.
	ChangedEndpoints() (keys []string, all bool)
	// HoldMembers says a Renderer keeps sel's members between renders: the
	// Source must keep tracking their changes until ReleaseMembers.
	HoldMembers(sel selector.Selector)
	ReleaseMembers(sel selector.Selector)
}

// setEntry is an IP set the cached chains use.
type setEntry struct {
	sel   selector.Selector
	refs  int            // references of cached chains (ruleEntry.sets)
	src   []netip.Prefix // the members as the Source listed them
	out   []netip.Prefix // those of the render's family
	fresh bool           // members not fetched yet
}

// cowMap is a map handed out as a snapshot: it is patched in place until
// handed out, and copied on the first change after that.
type cowMap[V any] struct {
	m      map[string]V
	shared bool
}

func (c *cowMap[V]) own() {
	switch {
	case c.m == nil:
		c.m = map[string]V{}
	case c.shared:
		c.m = maps.Clone(c.m)
	}
	c.shared = false
}

func (c *cowMap[V]) set(k string, v V) { c.own(); c.m[k] = v }
func (c *cowMap[V]) del(k string)      { c.own(); delete(c.m, k) }

// snapshot returns the map; it is not modified afterwards.
func (c *cowMap[V]) snapshot() map[string]V {
	if c.m == nil {
		c.m = map[string]V{}
	}
	c.shared = true
	return c.m
}

// acquireSets counts a cached chain's references to its sets.
func (rd *Renderer) acquireSets(sets []setRef) {
	for _, s := range sets {
		e := rd.sets[s.name]
		if e == nil {
			e = &setEntry{sel: s.sel, fresh: true}
			rd.sets[s.name] = e
			if rd.tracker != nil {
				rd.tracker.HoldMembers(s.sel)
			}
		}
		e.refs++
		rd.setsTouched[s.name] = true
	}
}

// releaseSets drops a cached chain's references to its sets (syncSets
// drops the sets no longer used).
func (rd *Renderer) releaseSets(sets []setRef) {
	for _, s := range sets {
		rd.sets[s.name].refs--
		rd.setsTouched[s.name] = true
	}
}

// Forget drops what the Renderer keeps and releases what it holds of its
// Source (a Tracker): call it before dropping a Renderer. The next Render
// renders from scratch.
func (rd *Renderer) Forget() {
	rd.releaseAllSets()
	*rd = Renderer{}
}

// releaseAllSets releases what the Renderer holds of its Source (before
// its caches are dropped).
func (rd *Renderer) releaseAllSets() {
	if rd.tracker == nil {
		return
	}
	for _, e := range rd.sets {
		rd.tracker.ReleaseMembers(e.sel)
	}
}

// syncSets brings the Result's IP sets up to date and returns the names
// of those changed (added or with new members) and removed, sorted. r.ipsets
// holds the sets of this render's uncached chains, with their members.
func (rd *Renderer) syncSets(r *renderer) (changed, removed []string) {
	cand := rd.setsTouched
	rd.setsTouched = map[string]bool{}
	for name := range r.ipsets {
		cand[name] = true
	}
	for name := range rd.transientSets {
		cand[name] = true
	}
	ids, all := []string(nil), true
	if rd.tracked {
		ids, all = rd.tracker.ChangedMembers()
	}
	if all {
		for name := range rd.sets {
			cand[name] = true
		}
	}
	for _, id := range ids {
		cand[IPSetName(id, rd.key.ipVersion)] = true
	}
	for name := range cand {
		val, use := rd.setMembers(r, name)
		old, had := rd.setOut.m[name]
		switch {
		case use && (!had || !sameMembers(old, val) && !slices.Equal(old, val)):
			rd.setOut.set(name, val)
			changed = append(changed, name)
		case !use && had:
			rd.setOut.del(name)
			removed = append(removed, name)
		}
	}
	rd.transientSets = r.ipsets
	slices.Sort(changed)
	slices.Sort(removed)
	return changed, removed
}

// setMembers returns a set's members of the render's family and whether
// a chain uses it; it drops the entry of a set no cached chain uses.
func (rd *Renderer) setMembers(r *renderer, name string) ([]netip.Prefix, bool) {
	e := rd.sets[name]
	if e != nil && e.refs <= 0 {
		delete(rd.sets, name)
		if rd.tracker != nil {
			rd.tracker.ReleaseMembers(e.sel)
		}
		e = nil
	}
	if val, ok := r.ipsets[name]; ok {
		return val, true
	}
	if e == nil {
		return nil, false
	}
	if src := r.m.Members(e.sel); e.fresh || !sameMembers(src, e.src) {
		e.src, e.out, e.fresh = src, r.ofFamily(src), false
	}
	return e.out, true
}

// ofFamily returns the members of the render's family: all itself when
// they all are (the usual case; Source lists are never modified), nil when
// none is.
func (r *renderer) ofFamily(all []netip.Prefix) []netip.Prefix {
	other := func(p netip.Prefix) bool { return p.Addr().Is4() != (r.cfg.IPVersion == 4) }
	members := all
	if slices.ContainsFunc(all, other) {
		members = slices.DeleteFunc(slices.Clone(all), other)
	}
	if len(members) == 0 {
		return nil
	}
	return members
}

// swapIDs replaces a cached chain's rule IDs old by cur (flow logs).
func (rd *Renderer) swapIDs(old, cur map[string]RuleID) {
	for k, v := range cur {
		rd.idRefs[k]++
		rd.idVals[k] = v
		rd.idsTouched[k] = true
	}
	for k := range old {
		rd.idRefs[k]--
		rd.idsTouched[k] = true
	}
}

// syncIDs brings the Result's rule IDs up to date (r.ruleIDs holds those
// of this render's uncached chains) and reports whether they changed.
func (rd *Renderer) syncIDs(r *renderer) bool {
	cand := rd.idsTouched
	rd.idsTouched = map[string]bool{}
	for k := range r.ruleIDs {
		cand[k] = true
	}
	for k := range rd.transientIDs {
		cand[k] = true
	}
	changed := false
	for k := range cand {
		v, use := r.ruleIDs[k]
		if !use && rd.idRefs[k] > 0 {
			v, use = rd.idVals[k], true
		}
		if rd.idRefs[k] <= 0 {
			delete(rd.idRefs, k)
			delete(rd.idVals, k)
		}
		old, had := rd.idOut.m[k]
		switch {
		case use && (!had || old != v):
			rd.idOut.set(k, v)
			changed = true
		case !use && had:
			rd.idOut.del(k)
			changed = true
		}
	}
	rd.transientIDs = r.ruleIDs
	return changed
}
