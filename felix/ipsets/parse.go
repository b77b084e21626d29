package ipsets

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// kernelSet is one set as `ipset list` printed it.
type kernelSet struct {
	name    string
	typ     string // "hash:net", "hash:ip", ...
	family  string // "inet" or "inet6"; "" when the header has none
	maxElem int
	extras  []string // header options beyond family/maxelem and the sizing hints
	refs    int      // references from kernel components (iptables rules)
	// members holds the parsed members of our hash:net sets (not of foreign
	// sets, and not with `ipset list -t`); the value is false for a member
	// printed with flags (for example "nomatch"), which must be re-added.
	members map[netip.Prefix]bool
	// known: the set is what our last successful batch left (see
	// Manager.remember), with exactly the members in sorted (sorted by
	// netip.Prefix.Compare; shared with the desired state, never
	// modified); members and junk are then unused.
	known  bool
	sorted []netip.Prefix
	// gen is the Manager's number of the desired member list the set was
	// last brought to (known state only); 0 when read from the kernel.
	gen uint64
	// junk holds the first token of member lines that are not prefixes.
	junk []string
}

// valued lists the header options that take a value; the others are flags.
var valued = map[string]bool{
	"family": true, "hashsize": true, "maxelem": true, "bucketsize": true, "initval": true,
	"timeout": true, "netmask": true, "bitmask": true, "markmask": true, "range": true, "size": true,
}

// sizing lists the header options that do not matter to us: hints and
// values the kernel picks or grows by itself.
var sizing = map[string]bool{"hashsize": true, "bucketsize": true, "initval": true}

// parseList parses the plain output of `ipset list` (or `ipset list -t`).
// Members are parsed only for the sets for which wantMembers is true. Each
// set is a block of "Key: value" header lines, then (without -t) "Members:"
// and one member a line; blocks are separated by a blank line.
func parseList(out []byte, wantMembers func(name string) bool) (map[string]*kernelSet, error) {
	sets := map[string]*kernelSet{}
	var cur *kernelSet
	inMembers, parseMembers := false, false
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "":
			cur, inMembers = nil, false
		case inMembers:
			if parseMembers {
				cur.addMember(line)
			}
		case strings.HasPrefix(line, "Name: "):
			name := strings.TrimPrefix(line, "Name: ")
			if _, dup := sets[name]; dup || name == "" {
				return nil, fmt.Errorf("ipset list: line %d: duplicate or empty set name %q", n, name)
			}
			cur = &kernelSet{name: name}
			sets[name] = cur
			parseMembers = wantMembers(name)
		case cur == nil:
			return nil, fmt.Errorf("ipset list: line %d: %q outside a set", n, line)
		case line == "Members:":
			inMembers = true
			if parseMembers {
				cur.members = map[netip.Prefix]bool{}
			}
		default:
			if err := cur.setHeader(line); err != nil {
				return nil, fmt.Errorf("ipset list: line %d: set %s: %w", n, cur.name, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ipset list: %w", err)
	}
	return sets, nil
}

// setHeader records one "Key: value" header line. Keys we do not need
// ("Revision", "Size in memory", ...) are ignored.
func (s *kernelSet) setHeader(line string) error {
	key, val, ok := strings.Cut(line, ": ")
	if !ok {
		key, ok = strings.CutSuffix(line, ":") // "Header:" of a set type without options
		if !ok {
			return fmt.Errorf("unexpected line %q", line)
		}
	}
	switch key {
	case "Type":
		s.typ = val
	case "References":
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("references %q: %w", val, err)
		}
		s.refs = n
	case "Header":
		return s.setOptions(strings.Fields(val))
	}
	return nil
}

// setOptions records the options of a "Header:" line.
func (s *kernelSet) setOptions(opts []string) error {
	for i := 0; i < len(opts); i++ {
		key := opts[i]
		if !valued[key] {
			s.extras = append(s.extras, key)
			continue
		}
		if i+1 == len(opts) {
			return fmt.Errorf("header option %s without a value", key)
		}
		i++
		val := opts[i]
		switch {
		case key == "family":
			s.family = val
		case key == "maxelem":
			n, err := strconv.Atoi(val)
			if err != nil {
				return fmt.Errorf("maxelem %q: %w", val, err)
			}
			s.maxElem = n
		case !sizing[key]:
			s.extras = append(s.extras, key+" "+val)
		}
	}
	return nil
}

// addMember records one member line, "10.0.0.1" or "10.1.0.0/16 nomatch".
func (s *kernelSet) addMember(line string) {
	tok, flags, _ := strings.Cut(strings.TrimSpace(line), " ")
	if tok == "" {
		return
	}
	p, err := parseMember(tok)
	if err != nil {
		s.junk = append(s.junk, tok)
		return
	}
	s.members[p] = strings.TrimSpace(flags) == ""
}

// parseMember parses a hash:net member: an address (a host entry, printed
// without its /32 or /128) or a prefix.
func parseMember(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("member %q has a zone", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// formatMember renders a member as the kernel prints it (and restore
// accepts it): host entries without their prefix length.
func formatMember(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
