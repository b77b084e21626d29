package nftrules

import (
	"maps"
	"slices"
	"strings"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// A workload endpoint chain that is only a goto (the usual ingress chain,
// `cali-tw-<iface>`: `-g cali-gi-…`, its group's chain) is skipped: its
// dispatch map element goes straight to the goto's target, as the chain
// would have. The chain stays in Table.Chains but nothing reaches it, so
// no part holds it: one chain and one rule fewer per endpoint for the
// kernel to take in at a start of day and to walk at every commit (the
// commit visits every chain of every table). An element follows its
// chain: it is refolded whenever the chain or the dispatch chain changes.

// endpointRef is where a dispatch map leads to an endpoint chain.
type endpointRef struct{ dispatch, iface string }

// loneGoto returns the target of a chain that is one unconditional goto.
func loneGoto(rs []ipt.Rule) (string, bool) {
	if len(rs) != 1 || rs[0].Action != "" {
		return "", false
	}
	f := strings.Fields(rs[0].Match)
	if len(f) != 2 || f[0] != "-g" {
		return "", false
	}
	return f[1], true
}

// foldedTarget is the element of dispatch map name for iface's endpoint
// chain c: a lone goto's target; SpoofedChain where the chain is folded
// into the source map (spoof.go: refoldSource, which comes first, found
// it of that shape); else c.
func (t *Table) foldedTarget(name, iface, c string) string {
	if to, ok := loneGoto(t.Chains[c]); ok {
		return to
	}
	if name == rules.ChainFromDispatch && len(t.sourceOf[iface]) > 0 {
		return SpoofedChain
	}
	return c
}

// setDispatch records a dispatch map (iface -> endpoint chain) and sets
// its folded form as the table's map. The elements whose chain did not
// change keep their folded target and reverse entries (refold keeps those
// up to date), so an endpoint coming or going costs a copy of the map,
// not a refold of every element (~18 ms of a container start at 10,000
// endpoints).
func (t *Table) setDispatch(name string, vmap map[string]string) {
	if t.dispatch == nil {
		t.dispatch, t.endpointOf = map[string]map[string]string{}, map[string][]endpointRef{}
	}
	old, oldFolded := t.dispatch[name], t.Sets[name].VMap
	from := name == rules.ChainFromDispatch
	if from && t.Sets[SourceMap].VMap == nil {
		t.Sets[SourceMap] = Set{VMap: map[string]string{}}
		t.Chains[SpoofedChain] = spoofedRules
		t.pendingChange(SpoofedChain, SourceMap)
	}
	folded := make(map[string]string, len(vmap))
	for iface, c := range vmap {
		prev, had := old[iface]
		if had && prev == c {
			folded[iface] = oldFolded[iface]
			continue
		}
		if had {
			t.forgetRef(prev, endpointRef{name, iface})
		}
		t.endpointOf[c] = append(t.endpointOf[c], endpointRef{name, iface})
		if from {
			t.refoldSource(iface, c)
		}
		folded[iface] = t.foldedTarget(name, iface, c)
		t.noteDispatch(name, iface)
	}
	for iface, prev := range old {
		if _, ok := vmap[iface]; !ok {
			t.forgetRef(prev, endpointRef{name, iface})
			t.noteDispatch(name, iface)
			if from {
				t.refoldSource(iface, "")
			}
		}
	}
	t.dispatch[name] = vmap
	t.Sets[name] = Set{VMap: folded}
}

// patchDispatch brings dispatch map name up to date with the interfaces
// whose rules came (true) or went (false) (rules.Delta.Dispatch): the
// render's chain of every endpoint's rule is not read, so an endpoint
// coming or going costs its own element, not a parse of the whole chain
// (~10 ms of a container start at 10,000 endpoints).
func (t *Table) patchDispatch(name string, moved map[string]bool) {
	vmap, folded := t.dispatch[name], t.Sets[name].VMap
	from := name == rules.ChainFromDispatch
	for iface, present := range moved {
		c := ""
		if present {
			c = rules.EndpointChain(iface, from)
		}
		prev, had := vmap[iface]
		if had && prev == c {
			continue
		}
		if had {
			t.forgetRef(prev, endpointRef{name, iface})
		}
		if from {
			t.refoldSource(iface, c)
		}
		if c == "" {
			delete(vmap, iface)
			delete(folded, iface)
		} else {
			vmap[iface] = c
			t.endpointOf[c] = append(t.endpointOf[c], endpointRef{name, iface})
			folded[iface] = t.foldedTarget(name, iface, c)
		}
		t.noteDispatch(name, iface)
	}
	t.pendingChange("", name)
}

// noteDispatch records that dispatch map name's element for iface changed.
func (t *Table) noteDispatch(name, iface string) {
	if t.dispatchDirty == nil {
		t.dispatchDirty = map[string]map[string]bool{}
	}
	if t.dispatchDirty[name] == nil {
		t.dispatchDirty[name] = map[string]bool{}
	}
	t.dispatchDirty[name][iface] = true
}

// forgetRef drops one reverse entry of chain c.
func (t *Table) forgetRef(c string, ref endpointRef) {
	refs := slices.DeleteFunc(t.endpointOf[c], func(r endpointRef) bool { return r == ref })
	if len(refs) == 0 {
		delete(t.endpointOf, c)
	} else {
		t.endpointOf[c] = refs
	}
}

// dropDispatch forgets a dispatch map.
func (t *Table) dropDispatch(name string) {
	if t.dispatchAll == nil {
		t.dispatchAll = map[string]bool{}
	}
	t.dispatchAll[name] = true
	t.forgetRefs(name)
	delete(t.dispatch, name)
	delete(t.Sets, name)
	if name == rules.ChainFromDispatch {
		t.dispatchAll[SourceMap] = true
		t.pendingChange("", SourceMap)
		delete(t.Sets, SourceMap)
		t.sourceOf = nil
		delete(t.Chains, SpoofedChain)
		t.pendingChange(SpoofedChain, "")
	}
}

// forgetRefs drops the reverse entries of dispatch map name.
func (t *Table) forgetRefs(name string) {
	for iface, c := range t.dispatch[name] {
		t.forgetRef(c, endpointRef{name, iface})
	}
}

// refold brings the dispatch map elements leading to chain c (if any) up
// to date with c, and returns the maps whose elements changed.
func (t *Table) refold(c string) []string {
	var changed []string
	for _, ref := range t.endpointOf[c] {
		if ref.dispatch == rules.ChainFromDispatch {
			t.refoldSource(ref.iface, c)
		}
		if vmap, to := t.Sets[ref.dispatch].VMap, t.foldedTarget(ref.dispatch, ref.iface, c); vmap[ref.iface] != to {
			vmap[ref.iface] = to
			changed = append(changed, ref.dispatch)
			t.noteDispatch(ref.dispatch, ref.iface)
		}
	}
	return changed
}

// refoldAll refolds every dispatch map (Build: the endpoint chains may
// come after the dispatch chains).
func (t *Table) refoldAll() {
	for _, name := range slices.Collect(maps.Keys(t.dispatch)) {
		vmap := t.dispatch[name]
		t.dropDispatch(name)
		t.setDispatch(name, vmap)
	}
}
