package ipsets

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
)

// setType is the type of every set we create.
const setType = "hash:net"

// updatePlan is what ApplyUpdates writes, with counts for the log.
type updatePlan struct {
	lines                      []string
	created, updated, replaced int
	errs                       []error // sets that cannot be fixed
}

// planUpdates returns the restore lines that give the desired sets names
// (sorted) their members with the right parameters. Sets of ours that are
// not desired are left for planDeletions; sets not ours are never
// mentioned.
func (m *Manager) planUpdates(actual map[string]*kernelSet, names []string) updatePlan {
	var p updatePlan
	var tmpErr error                      // why the temporary set cannot be used
	if tmp, ok := actual[m.tmpName]; ok { // left over from an interrupted replace
		if tmp.refs == 0 {
			p.lines = append(p.lines, "destroy "+m.tmpName)
		} else {
			tmpErr = fmt.Errorf("temporary set %s is referenced %d times; remove the iptables rules that use it",
				m.tmpName, tmp.refs)
		}
	}
	for _, name := range names {
		want := m.desired[name]
		got, exists := actual[name]
		switch {
		case !exists:
			p.created++
			p.lines = m.fill(p.lines, name, want)
		case m.matches(got) && got.gen != 0 && got.gen == m.gens[name]:
			// Known to hold exactly this desired list already.
		case m.matches(got):
			n := len(p.lines)
			m.diffMembers(&p, name, got, want)
			if len(p.lines) > n {
				p.updated++
			}
		case got.typ == setType && got.family == m.family && tmpErr != nil:
			p.errs = append(p.errs, fmt.Errorf("ipset %s: cannot replace it: %w", name, tmpErr))
		case got.typ == setType && got.family == m.family:
			// Same type and family: the kernel can swap it with a correct set,
			// so rules referencing the name never see it half-filled.
			p.replaced++
			p.lines = m.fill(p.lines, m.tmpName, want)
			p.lines = append(p.lines, "swap "+m.tmpName+" "+name, "destroy "+m.tmpName)
		case got.refs == 0:
			// Another type or family cannot be swapped; unused, it can go.
			p.replaced++
			p.lines = append(p.lines, "destroy "+name)
			p.lines = m.fill(p.lines, name, want)
		default:
			p.errs = append(p.errs, fmt.Errorf("ipset %s: is %s family %s, want %s family %s, and %d kernel "+
				"references (iptables rules) keep it from being replaced; remove those rules or destroy the set",
				name, got.typ, got.family, setType, m.family, got.refs))
		}
	}
	return p
}

// matches reports whether a kernel set has exactly the parameters we create
// sets with (sizing hints aside).
func (m *Manager) matches(s *kernelSet) bool {
	return s.typ == setType && s.family == m.family && s.maxElem == m.cfg.MaxSize && len(s.extras) == 0
}

// fill appends the lines that create set name and add every member.
func (m *Manager) fill(lines []string, name string, want []netip.Prefix) []string {
	lines = append(lines, fmt.Sprintf("create %s %s family %s maxelem %d", name, setType, m.family, m.cfg.MaxSize))
	for _, p := range want {
		lines = append(lines, "add "+name+" "+formatMember(p))
	}
	return lines
}

// diffMembers appends the del and add lines that turn got's members into
// want: deletions first, so a set near its maxelem has room for the adds.
// A member printed with flags (nomatch) is re-added: with -exist an add
// overwrites the flags of an existing member. A set known from our last
// batch is diffed in one merge pass of two sorted lists.
func (m *Manager) diffMembers(p *updatePlan, name string, got *kernelSet, want []netip.Prefix) {
	var dels, adds []netip.Prefix
	if got.known {
		dels, adds = diffSorted(got.sorted, want)
	} else {
		dels, adds = diffReadBack(got.members, want)
	}
	for _, j := range slices.Sorted(slices.Values(got.junk)) {
		p.lines = append(p.lines, "del "+name+" "+j)
	}
	for _, member := range dels {
		p.lines = append(p.lines, "del "+name+" "+formatMember(member))
	}
	for _, member := range adds {
		p.lines = append(p.lines, "add "+name+" "+formatMember(member))
	}
}

// diffReadBack is diffSorted for members read back from the kernel, whose
// members printed with flags (false) are re-added.
func diffReadBack(have map[netip.Prefix]bool, want []netip.Prefix) (dels, adds []netip.Prefix) {
	for member := range have {
		if _, found := slices.BinarySearchFunc(want, member, netip.Prefix.Compare); !found {
			dels = append(dels, member)
		}
	}
	slices.SortFunc(dels, netip.Prefix.Compare)
	for _, member := range want {
		if exact, ok := have[member]; !ok || !exact {
			adds = append(adds, member)
		}
	}
	return dels, adds
}

// diffSorted returns what is only in have and what is only in want; both
// are sorted by netip.Prefix.Compare without duplicates, and so are the
// results.
func diffSorted(have, want []netip.Prefix) (dels, adds []netip.Prefix) {
	i, j := 0, 0
	for i < len(have) && j < len(want) {
		switch c := compareMasked(have[i], want[j]); {
		case c < 0:
			dels = append(dels, have[i])
			i++
		case c > 0:
			adds = append(adds, want[j])
			j++
		default:
			i, j = i+1, j+1
		}
	}
	return append(dels, have[i:]...), append(adds, want[j:]...)
}

// planDeletions returns the lines destroying our sets that are not desired
// and not referenced, and the names of those still referenced.
func (m *Manager) planDeletions(actual map[string]*kernelSet) (lines, busy []string) {
	for _, name := range slices.Sorted(maps.Keys(actual)) {
		if _, want := m.desired[name]; want || m.held[name] || !m.owns(name) {
			continue
		}
		if actual[name].refs > 0 {
			busy = append(busy, name)
			continue
		}
		lines = append(lines, "destroy "+name)
	}
	return lines, busy
}

var errorLine = regexp.MustCompile(`Error in line (\d+):`)

// failedLine quotes the batch line an `ipset restore` error names, so the
// error says what was refused without dumping the whole batch.
func failedLine(err error, lines []string) string {
	match := errorLine.FindStringSubmatch(err.Error())
	if match == nil {
		return ""
	}
	n, convErr := strconv.Atoi(match[1])
	if convErr != nil || n < 1 || n > len(lines) {
		return ""
	}
	return fmt.Sprintf(", line %d %q", n, lines[n-1])
}

// compareMasked is netip.Prefix.Compare for masked prefixes, without
// masking them again.
func compareMasked(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
