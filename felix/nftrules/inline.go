package nftrules

import (
	"slices"
	"strings"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// A group chain whose only policy chain no other chain refers to holds
// that policy's rules itself. The usual group chain of an endpoint whose
// one tier has one policy selecting it (and no Pass rule) is, as
// felix/rules renders it,
//
//	clear the marks; jump cali-pi-P     (one kernel rule: rules.Fusable)
//	return if the accept mark is set
//	[log,] drop                          (the end of the tier)
//
// and cali-pi-P holds the policy's rules, each Allow "set the accept
// mark; return if it is set". Held in the group chain, they become
//
//	P's rules, each Allow "set the accept mark and clear the pass mark;
//	return"                             (one kernel rule each)
//	[log,] drop
//
// A packet meets the same rules in the same order and leaves with the
// same verdict and, when it returns, the same marks (accept set, pass
// clear). The clear at the top only served the return on the accept
// mark, which now happens in the rule that allowed; every other way out
// of the chain is its drop. At 10,000 endpoints × 10,000 policies that is
// per endpoint a chain, two rules and ~8 expressions fewer for the kernel
// to take in at a start of day (docs/benchmarks.md).
//
// Only when nothing else refers to the policy's chain: a policy chain
// shared by several group chains stays one chain, written once. The
// policy's chain stays in Table.Chains; nothing held refers to it, so no
// part holds it (as a folded cali-tw- chain, fold.go). A group chain
// follows its policy: it is inlined again whenever the policy's chain,
// or the set of chains referring to it, changes.
//
// What a policy chain may hold to be inlined: Allows (the accept mark,
// then the return on it or the chain's end), drops, accepts and logs, with
// no match on the marks. Anything else (a Pass, a jump) keeps the jump.
// An inlined Allow keeps its counter (Compile), a log rule loses it.

// inlineState is the Table's record of the rendered rules inlining reads.
type inlineState struct {
	// rendered are the group chains of the shape above, as rendered.
	rendered map[string][]ipt.Rule
	// jumps are, by chain, the rule chains its rendered rules jump to;
	// users the reverse.
	jumps map[string][]string
	users map[string]map[string]bool
}

// inlineShape returns the policy chain a group chain of the shape above
// jumps to.
func inlineShape(rs []ipt.Rule) (string, bool) {
	if len(rs) < 4 || rs[0] != (ipt.Rule{Action: rules.MarksCleared}) || rs[1].Match != "" ||
		!rules.IsRuleChain(rs[1].Action) || rs[2] != rules.AcceptedReturn {
		return "", false
	}
	tail := rs[3:]
	if tail[len(tail)-1] != (ipt.Rule{Action: "DROP"}) {
		return "", false // a packet falling through would return with the marks it came with
	}
	for _, r := range tail {
		if strings.Contains(r.Match, "mark") || !terminalOrLog(r.Action) {
			return "", false
		}
	}
	return rs[1].Action, true
}

// terminalOrLog reports whether an action ends the packet's way or only
// logs it.
func terminalOrLog(action string) bool {
	switch {
	case action == "DROP", action == "ACCEPT":
		return true
	case strings.HasPrefix(action, "NFLOG "), strings.HasPrefix(action, "LOG "):
		return true
	}
	return false
}

// inlined returns a group chain (its tail after the return on the accept
// mark) with policy chain pol's rules in place of the jump, or false when
// pol holds something inlining cannot keep the meaning of.
func inlined(pol, tail []ipt.Rule) ([]ipt.Rule, bool) {
	out := make([]ipt.Rule, 0, 2*len(pol)+len(tail))
	for i := 0; i < len(pol); i++ {
		r := pol[i]
		if strings.Contains(r.Match, "mark") || strings.Contains(r.Match, "-g ") {
			return nil, false
		}
		switch {
		case r.Action == rules.AcceptAction:
			switch {
			case i+1 < len(pol) && pol[i+1] == rules.AcceptedReturn:
				i++
			case i+1 < len(pol):
				return nil, false // a return further on would see the mark of a packet that came with it
			}
			// Each of a multiport split's rules returns itself, so each
			// is one kernel rule with its return (Fusable).
			for _, e := range Expand(r) {
				out = append(out, ipt.Rule{Match: e.Match, Action: rules.AllowAndClear}, rules.AcceptedReturn)
			}
		case terminalOrLog(r.Action):
			out = append(out, r)
		default:
			return nil, false
		}
	}
	return append(out, tail...), true
}

// ruleJumps lists the rule chains rs jump to.
func ruleJumps(rs []ipt.Rule) []string {
	var out []string
	for _, r := range rs {
		if rules.IsRuleChain(r.Action) && !slices.Contains(out, r.Action) {
			out = append(out, r.Action)
		}
	}
	return out
}

// noteRendered records chain name's rendered rules (absent: removed) and
// returns the group chains whose inlining it may change.
func (t *Table) noteRendered(name string, rs []ipt.Rule, exists bool) []string {
	s := &t.inline
	if s.rendered == nil {
		s.rendered = map[string][]ipt.Rule{}
		s.jumps, s.users = map[string][]string{}, map[string]map[string]bool{}
	}
	var now []string
	if exists {
		now = ruleJumps(rs)
	}
	touched := append(slices.Clone(s.jumps[name]), now...)
	for _, p := range s.jumps[name] {
		if !slices.Contains(now, p) {
			delete(s.users[p], name)
			if len(s.users[p]) == 0 {
				delete(s.users, p)
			}
		}
	}
	for _, p := range now {
		if s.users[p] == nil {
			s.users[p] = map[string]bool{}
		}
		s.users[p][name] = true
	}
	if len(now) > 0 {
		s.jumps[name] = now
	} else {
		delete(s.jumps, name)
	}
	delete(s.rendered, name)
	var out []string
	if _, ok := inlineShape(rs); ok && exists {
		s.rendered[name] = rs
		out = append(out, name)
	}
	if rules.IsRuleChain(name) {
		touched = append(touched, name)
	}
	for _, p := range touched {
		for g := range s.users[p] {
			if _, ok := s.rendered[g]; ok && !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

// reinline sets group chain g's content: its policy's rules held in it
// when that can be, else as rendered. It reports whether it changed.
func (t *Table) reinline(g string) bool {
	s := &t.inline
	rs, ok := s.rendered[g]
	if !ok {
		return false
	}
	p, _ := inlineShape(rs)
	want := rs
	if len(s.users[p]) == 1 {
		if pol, ok := t.Chains[p]; ok {
			if in, ok := inlined(pol, rs[3:]); ok {
				want = in
			}
		}
	}
	if slices.Equal(t.Chains[g], want) {
		return false
	}
	t.Chains[g] = want
	return true
}

// inlineFollow brings the group chains up to date with chain name, just
// set (exists) or removed.
func (t *Table) inlineFollow(name string, exists bool) {
	for _, g := range t.noteRendered(name, t.Chains[name], exists) {
		if t.reinline(g) {
			t.pendingChange(g, "")
		}
	}
}

// renderedChain returns chain name as rendered: a group chain without
// its policy inlined.
func (t *Table) renderedChain(name string) []ipt.Rule {
	if rs, ok := t.inline.rendered[name]; ok {
		return rs
	}
	return t.Chains[name]
}

// inlineAll inlines every group chain that can be (Build).
func (t *Table) inlineAll() {
	for name, rs := range t.Chains {
		t.noteRendered(name, rs, true)
	}
	for g := range t.inline.rendered {
		t.reinline(g)
	}
}
