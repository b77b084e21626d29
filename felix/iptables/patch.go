package iptables

import (
	"fmt"
	"slices"
)

// Patching a chain in place: what a container's start or stop does to the
// dispatch chains, one rule per endpoint, costs an insertion or a
// deletion instead of a flush and the whole chain written again.

// patchLimit is the most rules patchChain inserts or deletes in one chain;
// a larger change rewrites the chain.
const patchLimit = 64

// patchChain returns the lines that turn chain's rules got into want in
// place when want keeps some of got's rules in got's order and only adds
// or removes others: the rules gone deleted by their text, bottom up, then
// the new ones inserted at theirs, top down (at position 1 for those
// above every rule kept, an append for those below). ok is false when
// got holds a rule not ours, when rules changed places, or for more than
// patchLimit insertions and deletions: the chain is then flushed and
// written whole. This is what a container's start or stop does to the
// dispatch chains, one rule per endpoint: rewriting a dispatch chain of
// 1,000 rules made iptables-nft-restore read every rule of the table back
// first (a flush needs that: ~25 ms at 1,000 endpoints × 1,000 policies),
// while an insertion reads at most its chain (docs/benchmarks.md).
func patchChain(chain string, got []savedRule, want []string, rules []Rule) (lines []string, ok bool) {
	if hasForeign(got) {
		return nil, false
	}
	have := make([]string, len(got))
	for j, r := range got {
		have[j] = r.hash
	}
	var gone, added []int
	if rest, ok := subsequence(want, have); ok {
		gone = rest // only deletions
	} else if rest, ok := subsequence(have, want); ok {
		added = rest // only insertions
	} else if gone, added, ok = keptInOrder(have, want); !ok {
		return nil, false
	}
	if len(gone)+len(added) > patchLimit {
		return nil, false
	}
	firstKept, lastKept := len(want), -1 // in want
	for i, a := 0, 0; i < len(want); i++ {
		if a < len(added) && added[a] == i {
			a++
			continue
		}
		firstKept, lastKept = min(firstKept, i), i
	}
	if len(gone) == 0 && len(added) == 0 {
		return nil, false
	}
	n := counts(have)
	for _, j := range slices.Backward(gone) {
		// By its text where no other rule has it (iptables deletes the
		// first that matches): were a rule slipped into our chain behind
		// our back, a position would delete the wrong one.
		if n[have[j]] == 1 && (got[j].line != "" || got[j].src != nil) {
			lines = append(lines, got[j].deletion(chain))
		} else {
			lines = append(lines, fmt.Sprintf("-D %s %d", chain, j+1))
		}
	}
	// New rules above every rule kept go in at position 1, the lowest
	// first (iptables-nft needs no rule of the chain for that); then the
	// others top down, each where the rules above it already are.
	for _, i := range slices.Backward(added) {
		if i < firstKept && lastKept >= 0 {
			lines = append(lines, fmt.Sprintf("-I %s 1 %s", chain, renderRule(rules[i], want[i])))
		}
	}
	for _, i := range added {
		switch {
		case i < firstKept && lastKept >= 0: // written above
		case i > lastKept: // below every rule there by now
			lines = append(lines, "-A "+chain+" "+renderRule(rules[i], want[i]))
		default:
			lines = append(lines, fmt.Sprintf("-I %s %d %s", chain, i+1, renderRule(rules[i], want[i])))
		}
	}
	return lines, true
}

// subsequence reports whether small is big with some elements left out,
// and which (their indexes in big).
func subsequence(small, big []string) (rest []int, ok bool) {
	i := 0
	for j, h := range big {
		if i < len(small) && small[i] == h {
			i++
		} else {
			rest = append(rest, j)
		}
	}
	return rest, i == len(small)
}

// keptInOrder walks have and want together: a rule in both is kept, one
// that the rest of the other list lacks is gone (have) or added (want);
// ok is false when neither holds (rules changed places). It finds the
// usual mix, an endpoint's rule gone and another's added.
func keptInOrder(have, want []string) (gone, added []int, ok bool) {
	inWant, inHave := counts(want), counts(have)
	for i, j := 0, 0; i < len(want) || j < len(have); {
		switch {
		case i < len(want) && j < len(have) && want[i] == have[j]:
			inWant[want[i]]--
			inHave[want[i]]--
			i++
			j++
		case j < len(have) && inWant[have[j]] == 0:
			gone = append(gone, j)
			inHave[have[j]]--
			j++
		case i < len(want) && inHave[want[i]] == 0:
			added = append(added, i)
			inWant[want[i]]--
			i++
		default:
			return nil, nil, false
		}
	}
	return gone, added, true
}

func counts(hashes []string) map[string]int {
	m := make(map[string]int, len(hashes))
	for _, h := range hashes {
		m[h]++
	}
	return m
}

func hasForeign(rules []savedRule) bool {
	return slices.ContainsFunc(rules, func(r savedRule) bool { return r.hash == "" })
}

// keepOrder returns rules, a chain whose rules but the last may run in any
// order, in the order old (what it held) has them, with the rules old
// lacks first; rules unchanged when the last rule changed. A chain that
// gained a rule then only has it inserted at its top (patchChain), which
// iptables-nft-restore does without reading the chain to find the place:
// a container's start inserts its dispatch rules in ~2 ms where an
// insertion at its place in the sorted chain took ~5 ms a chain
// (docs/benchmarks.md).
func keepOrder(old, rules []Rule) []Rule {
	n := len(rules)
	if len(old) == 0 || n == 0 || old[len(old)-1] != rules[n-1] {
		return rules
	}
	left := make(map[Rule]int, n) // rules not yet placed
	for _, r := range rules[:n-1] {
		left[r]++
	}
	kept := make([]Rule, 0, n)
	for _, r := range old[:len(old)-1] {
		if left[r] > 0 {
			left[r]--
			kept = append(kept, r)
		}
	}
	out := make([]Rule, 0, n)
	for _, r := range rules[:n-1] {
		if left[r] > 0 { // new: old had fewer of it
			left[r]--
			out = append(out, r)
		}
	}
	return append(append(out, kept...), rules[n-1])
}
