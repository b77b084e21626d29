package ipsets

import (
	"context"
	"strings"
)

// ApplyUpdatesIncremental is ApplyUpdates without the read-back when the
// previous apply succeeded: it plans against what that apply left in the
// kernel. Reading back every member of every set (`ipset list`) costs far
// more than writing a small delta while remote endpoints churn, so the
// dataplane uses it for changes of the desired state and ApplyUpdates for
// periodic resyncs, which repair what others changed meanwhile. Any
// failure makes the next call read back.
func (m *Manager) ApplyUpdatesIncremental(ctx context.Context) error {
	if m.cfgErr != nil {
		return m.cfgErr
	}
	actual := m.known
	m.known = nil
	if actual == nil {
		return m.ApplyUpdates(ctx)
	}
	return m.applyUpdates(ctx, actual, true)
}

// remember records what a successful update batch of the sets names left
// in the kernel: actual, with every desired set holding exactly its
// desired members. It forgets everything instead when anything went wrong.
func (m *Manager) remember(actual map[string]*kernelSet, names []string, p updatePlan, err error) {
	m.known = nil
	clear(m.dirty) // planned now; without a known state the next batch plans all
	m.allDirty = false
	if err != nil || len(p.errs) > 0 || m.invalid != nil {
		return
	}
	delete(actual, m.tmpName) // destroyed by the batch if it was there
	for _, name := range names {
		want := m.desired[name]
		got := actual[name]
		if got != nil && got.gen != 0 && got.gen == m.gens[name] && m.matches(got) {
			continue // unchanged since the batch that brought it here
		}
		if got == nil || !m.matches(got) {
			got = &kernelSet{name: name, typ: setType, family: m.family, maxElem: m.cfg.MaxSize}
			if old := actual[name]; old != nil {
				got.refs = old.refs // a swap keeps the name's references
			}
			actual[name] = got
		}
		got.known, got.sorted, got.members, got.junk = true, want, nil, nil
		got.gen = m.gens[name]
	}
	m.known = actual
}

// forgetDestroyed drops the sets a deletion batch ("destroy <name>" lines)
// destroyed from the known kernel state, or all of it when the batch failed.
func (m *Manager) forgetDestroyed(lines []string, err error) {
	if err != nil {
		m.known = nil
		return
	}
	for _, line := range lines {
		delete(m.known, strings.TrimPrefix(line, "destroy "))
	}
}
