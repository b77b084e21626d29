package policy

import (
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
)

// Policy lists in the Index: every policy in evaluation order, each local
// endpoint's lists of the policies selecting it, and, per policy, the
// local endpoints whose lists hold it (holders). A changed policy that
// selects what it selected before (same selector and types: a change of
// its rules, the usual edit) patches only its holders' lists; another is
// evaluated against every local endpoint.

// localEndpoint returns the local endpoint of key, or nil.
func (x *Index) localEndpoint(key string) *calc.Endpoint {
	i, found := slices.BinarySearchFunc(x.local, key, func(ep *calc.Endpoint, k string) int {
		return strings.Compare(ep.Key, k)
	})
	if !found {
		return nil
	}
	return x.local[i]
}

// refreshPolicies re-reads every policy, sorted in evaluation order.
func (x *Index) refreshPolicies() {
	all := x.model.Policies()
	x.ordered, x.polIdx = all, nil
	x.policies = make(map[string]*calc.Policy, len(all))
	for _, p := range all {
		x.policies[p.Key] = p
	}
}

// policyChange is a dirty policy's last compiled object and its current
// one (nil: none).
type policyChange struct{ old, cur *calc.Policy }

// patchOrdered brings the policies and their evaluation order up to date
// with the dirty policies and returns their changes. A policy keeping its
// place (tier, order, name) is replaced in place; another is removed and
// inserted at its binary-searched place: O(log n) comparisons and one
// move per change, not a sort of every policy. Tier changes rebuild
// everything (Apply), so the order of the list stays that of
// ComparePolicies; many dirty policies re-sort all at once.
func (x *Index) patchOrdered() []policyChange {
	changes := make([]policyChange, 0, len(x.dirtyPolicies))
	for key := range x.dirtyPolicies {
		if c := (policyChange{x.policies[key], x.model.PolicyByKey(key)}); c.old != c.cur {
			changes = append(changes, c)
		}
	}
	if len(changes) > 0 {
		x.polIdx = nil
	}
	if len(changes) > len(x.ordered)/8+16 {
		x.refreshPolicies()
		return changes
	}
	cmp := x.model.ComparePolicies
	for _, c := range changes {
		if c.old != nil {
			i, found := slices.BinarySearchFunc(x.ordered, c.old, cmp)
			if !found || x.ordered[i] != c.old {
				x.refreshPolicies() // not where it was put: cannot happen
				return changes
			}
			if c.cur != nil && cmp(c.old, c.cur) == 0 {
				x.ordered[i], x.policies[c.cur.Key] = c.cur, c.cur
				continue
			}
			x.ordered = slices.Delete(x.ordered, i, i+1)
			delete(x.policies, c.old.Key)
		}
		if c.cur != nil {
			i, _ := slices.BinarySearchFunc(x.ordered, c.cur, cmp)
			x.ordered = slices.Insert(x.ordered, i, c.cur)
			x.policies[c.cur.Key] = c.cur
		}
	}
	return changes
}

// computePolicies evaluates every policy against ep, once for both
// directions, in evaluation order (as calc.Model.PoliciesFor lists them).
func (x *Index) computePolicies(ep *calc.Endpoint) *[2][]*calc.Policy {
	var out [2][]*calc.Policy
	for _, p := range x.policyIdx().candidates(ep.Labels) { // index_labels.go
		in, eg := p.AppliesTo(calc.Ingress), p.AppliesTo(calc.Egress)
		if (in || eg) && p.Selector.Evaluate(ep.Labels) {
			if in {
				out[calc.Ingress] = append(out[calc.Ingress], p)
			}
			if eg {
				out[calc.Egress] = append(out[calc.Egress], p)
			}
		}
	}
	return &out
}

// patchPolicies applies the policy changes to ep's lists: the old object
// leaves the lists holding it, the new one enters, at its place in
// evaluation order, those of the directions it applies to when it selects
// ep. A list neither holding nor gaining one of them is kept as it is
// (lists are never modified once handed out: a patched one is a copy).
func (x *Index) patchPolicies(ep *calc.Endpoint, changes []policyChange) {
	lists := x.polFor[ep.Key]
	x.hold(ep.Key, lists, -1)
	defer x.hold(ep.Key, lists, 1)
	for _, c := range changes {
		selects := c.cur != nil && c.cur.Selector.Evaluate(ep.Labels)
		for _, dir := range []calc.Direction{calc.Ingress, calc.Egress} {
			i := -1
			if c.old != nil {
				i = slices.Index(lists[dir], c.old)
			}
			enters := selects && c.cur.AppliesTo(dir)
			if i < 0 && !enters {
				continue
			}
			list := slices.Clone(lists[dir])
			if i >= 0 {
				list = slices.Delete(list, i, i+1)
			}
			if enters {
				j, _ := slices.BinarySearchFunc(list, c.cur, x.model.ComparePolicies)
				list = slices.Insert(list, j, c.cur)
			}
			lists[dir] = list
			x.epChanged[ep.Key] = true
		}
	}
}

// setLists sets a local endpoint's policy lists (nil: it is gone).
func (x *Index) setLists(key string, lists *[2][]*calc.Policy) {
	x.hold(key, x.polFor[key], -1)
	if lists == nil {
		delete(x.polFor, key)
		return
	}
	x.polFor[key] = lists
	x.hold(key, lists, 1)
}

// hold adds (n 1) or removes (n -1) the endpoint key from the holders of
// the policies of lists.
func (x *Index) hold(key string, lists *[2][]*calc.Policy, n int) {
	if lists == nil {
		return
	}
	for _, list := range lists {
		for _, p := range list {
			h := x.holders[p.Key]
			if h == nil {
				h = map[string]int{}
				x.holders[p.Key] = h
			}
			if h[key] += n; h[key] <= 0 {
				delete(h, key)
				if len(h) == 0 {
					delete(x.holders, p.Key)
				}
			}
		}
	}
}

// patchLists applies the policy changes to the lists of the local
// endpoints not dirty (those are computed afresh): only to the holders of
// a policy that selects the same endpoints as before, else to all.
func (x *Index) patchLists(changes []policyChange) {
	if !slices.ContainsFunc(changes, reselects) {
		for _, c := range changes {
			for _, key := range x.holderKeys(c.old.Key) {
				if ep := x.localEndpoint(key); ep != nil && !x.dirtyEndpoints[key] {
					x.patchPolicies(ep, []policyChange{c})
				}
			}
		}
		return
	}
	for _, ep := range x.local {
		if !x.dirtyEndpoints[ep.Key] {
			x.patchPolicies(ep, changes)
		}
	}
}

// holderKeys returns the endpoints holding a policy (a copy: patching
// changes the holders).
func (x *Index) holderKeys(policy string) []string {
	keys := make([]string, 0, len(x.holders[policy]))
	for key := range x.holders[policy] {
		keys = append(keys, key)
	}
	return keys
}

// reselects reports whether a change may give the policy to endpoints
// that did not hold it: a new or deleted policy, another selector, a
// change of HostOnly, or an old policy of no direction. Other types with
// the same selector (a policy gaining or losing egress rules) are not:
// every endpoint the selector selects held the old policy in some
// direction, so patching its holders suffices (not every endpoint).
func reselects(c policyChange) bool {
	return c.old == nil || c.cur == nil || c.old.Selector.UniqueID() != c.cur.Selector.UniqueID() ||
		c.old.HostOnly != c.cur.HostOnly || c.old.Types == [2]bool{}
}
