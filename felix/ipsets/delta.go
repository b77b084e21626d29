package ipsets

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
)

// Desired state by delta: a policy render names the sets it changed, so
// the Manager patches those (UpdateDesired) and an incremental apply plans
// only them, not every set. A full apply (ApplyUpdates, the periodic
// resync) still compares every set with what it reads back.

// UpdateDesired patches the desired state: each set of changed gets its
// members from sets, each of removed is no longer desired. Members are
// treated as SetDesired treats them.
func (m *Manager) UpdateDesired(sets map[string][]netip.Prefix, changed, removed []string) {
	for _, name := range removed {
		m.undesire(name)
		m.dirty[name] = true
	}
	for _, name := range changed {
		m.desire(name, sets[name])
		m.dirty[name] = true
	}
	m.joinProblems()
}

// desire sets one set's desired members.
func (m *Manager) desire(name string, members []netip.Prefix) {
	if _, ok := m.desired[name]; ok && sameSlice(m.input[name], members) {
		return
	}
	m.undesire(name)
	if err := m.checkName(name); err != nil {
		m.problems[name] = err
		return
	}
	want, bad := m.normalize(members)
	var problems []error
	if len(bad) > 0 {
		problems = append(problems, fmt.Errorf("ipset %s: left out members %v: not IPv%d prefixes",
			name, bad, m.cfg.IPVersion))
	}
	if len(want) > m.cfg.MaxSize {
		m.held[name] = true
		m.problems[name] = errors.Join(append(problems, fmt.Errorf("ipset %s: %d members, more than the maximum %d; "+
			"the set keeps its previous content: raise the IP set MaxSize", name, len(want), m.cfg.MaxSize))...)
		return
	}
	if len(problems) > 0 {
		m.problems[name] = errors.Join(problems...)
	}
	m.desired[name] = want
	m.lastGen++
	m.gens[name] = m.lastGen
	if len(bad) == 0 {
		m.input[name] = members // reusable: it raised no problem
	}
}

// undesire forgets one set's desired state.
func (m *Manager) undesire(name string) {
	delete(m.desired, name)
	delete(m.input, name)
	delete(m.gens, name)
	delete(m.held, name)
	delete(m.problems, name)
}

// joinProblems sets invalid from the problems, in name order.
func (m *Manager) joinProblems() {
	m.invalid = nil
	if len(m.problems) == 0 {
		return
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m.problems)) {
		errs = append(errs, m.problems[name])
	}
	m.invalid = errors.Join(errs...)
}

// planNames returns the sets an update batch must consider, sorted: the
// dirty ones when incremental (planning against the known kernel state)
// and not everything is dirty, else every desired set.
func (m *Manager) planNames(incremental bool) []string {
	if !incremental || m.allDirty {
		return slices.Sorted(maps.Keys(m.desired))
	}
	var names []string
	for name := range m.dirty {
		if _, ok := m.desired[name]; ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
