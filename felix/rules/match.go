package rules

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// maxMultiport is how many ports one multiport match takes (a range
// counts twice).
const maxMultiport = 15

// ruleChain renders a policy's or profile's rules for one direction; id
// names them in flow logs (nflog.go).
func (r *renderer) ruleChain(rules []calc.Rule, profile bool, id *RuleID) []ipt.Rule {
	var out []ipt.Rule
	for i := range rules {
		matches, ok := r.matches(&rules[i])
		if !ok {
			continue
		}
		for _, m := range matches {
			out = append(out, r.actionRules(rules[i].Action, m, profile, withRule(id, i))...)
		}
	}
	// A chain returns at its end: a return as its last rule (an Allow or
	// Pass rule's, when it comes last) does nothing. At 1,000 policies of
	// one rule each, a rule in ten fewer for the kernel to take in.
	if n := len(out); n > 0 && out[n-1].Action == "RETURN" {
		out = out[:n-1]
	}
	return out
}

func (r *renderer) actionRules(action, match string, profile bool, id *RuleID) []ipt.Rule {
	switch action {
	case resources.ActionAllow:
		return r.logged(id, true,
			ipt.Rule{Match: match, Action: AcceptAction}, AcceptedReturn)
	case resources.ActionDeny:
		return r.logged(id, false, ipt.Rule{Match: match, Action: "DROP"})
	case resources.ActionPass:
		if profile {
			return []ipt.Rule{{Match: match, Action: "RETURN"}}
		}
		return []ipt.Rule{
			{Match: match, Action: MarkAction(MarkPass, MarkPass)},
			{Match: MarkMatch(MarkPass, MarkPass), Action: "RETURN"},
		}
	case resources.ActionLog:
		return []ipt.Rule{{Match: match, Action: `LOG --log-prefix "` + r.cfg.LogPrefix + `" --log-level 5`}}
	}
	return nil
}

// matches renders a rule's match criteria for the renderer's family. It
// returns several match strings when one iptables rule can't express the
// rule (several nets, many ports), and ok=false when the rule can never
// match a packet of this family.
func (r *renderer) matches(rule *calc.Rule) ([]string, bool) {
	v := r.cfg.IPVersion
	if rule.IPVersion != 0 && rule.IPVersion != v {
		return nil, false
	}
	var base []string
	if p := rule.Protocol; p != nil {
		if p.IsICMP() && (p.Number == 58) != (v == 6) {
			return nil, false
		}
		base = append(base, "-p "+protoArg(p))
	}
	if p := rule.NotProtocol; p != nil {
		base = append(base, "! -p "+protoArg(p))
	}
	base = append(base, icmpMatch(rule.ICMP, v, false)...)
	base = append(base, icmpMatch(rule.NotICMP, v, true)...)
	srcNets, ok := r.netsOfFamily(rule.Src.Nets)
	if !ok {
		return nil, false
	}
	dstNets, ok := r.netsOfFamily(rule.Dst.Nets)
	if !ok {
		return nil, false
	}
	base = append(base, r.entity(&rule.Src, "src", "-s", "--src-range", "--sports")...)
	base = append(base, r.entity(&rule.Dst, "dst", "-d", "--dst-range", "--dports")...)
	combos := []string{strings.Join(base, " ")}
	combos = expand(combos, srcNets, "-s ")
	combos = expand(combos, dstNets, "-d ")
	combos = expandPorts(combos, rule.Src.Ports, "--sports")
	combos = expandPorts(combos, rule.Dst.Ports, "--dports")
	return combos, true
}

// netsOfFamily keeps the nets of the renderer's family; ok=false when nets
// were given but none is of this family (the rule can't match).
func (r *renderer) netsOfFamily(nets []netip.Prefix) ([]netip.Prefix, bool) {
	if len(nets) == 0 {
		return nil, true
	}
	var out []netip.Prefix
	for _, n := range nets {
		if n.Addr().Is4() == (r.cfg.IPVersion == 4) {
			out = append(out, n)
		}
	}
	return out, len(out) > 0
}

// entity renders the parts of a source/destination match that fit in one
// rule: notNets (iprange), selectors (ipsets), notPorts.
func (r *renderer) entity(e *calc.Entity, dir, _ string, rangeFlag, portFlag string) []string {
	var out []string
	for _, n := range e.NotNets {
		if n.Addr().Is4() != (r.cfg.IPVersion == 4) {
			continue
		}
		out = append(out, "-m iprange ! "+rangeFlag+" "+n.Masked().Addr().String()+"-"+LastAddr(n).String())
	}
	if e.Selector != nil {
		out = append(out, "-m set --match-set "+r.ipset(e.Selector)+" "+dir)
	}
	if e.NotSelector != nil {
		out = append(out, "-m set ! --match-set "+r.ipset(e.NotSelector)+" "+dir)
	}
	for _, chunk := range portChunks(e.NotPorts) {
		out = append(out, "-m multiport ! "+portFlag+" "+chunk)
	}
	return out
}

// ipset registers the set of a selector and returns its name.
func (r *renderer) ipset(sel selector.Selector) string {
	name := IPSetName(sel.UniqueID(), r.cfg.IPVersion)
	if r.sets != nil {
		*r.sets = append(*r.sets, setRef{name: name, sel: sel}) // a cached chain's (sets.go)
		return name
	}
	r.registerSet(name, sel)
	return name
}

// registerSet puts a selector's set, with its members of the render's
// family, into the IP sets of the render's uncached chains.
func (r *renderer) registerSet(name string, sel selector.Selector) {
	if _, done := r.ipsets[name]; !done {
		r.ipsets[name] = r.ofFamily(r.m.Members(sel)) // sets.go
	}
}

// sameMembers reports whether a and b are the same list (not merely equal:
// a Source returns a new list when the members change).
func sameMembers(a, b []netip.Prefix) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func expand(combos []string, nets []netip.Prefix, flag string) []string {
	if len(nets) == 0 {
		return combos
	}
	var out []string
	for _, c := range combos {
		for _, n := range nets {
			out = append(out, join(c, flag+n.String()))
		}
	}
	return out
}

func expandPorts(combos []string, ports []resources.Port, flag string) []string {
	chunks := portChunks(ports)
	if len(chunks) == 0 {
		return combos
	}
	var out []string
	for _, c := range combos {
		for _, ch := range chunks {
			out = append(out, join(c, "-m multiport "+flag+" "+ch))
		}
	}
	return out
}

// portChunks splits ports into multiport arguments of at most 15 slots.
func portChunks(ports []resources.Port) []string {
	var chunks []string
	var cur []string
	used := 0
	for _, p := range ports {
		cost := 1
		if p.Min != p.Max {
			cost = 2
		}
		if used+cost > maxMultiport {
			chunks = append(chunks, strings.Join(cur, ","))
			cur, used = nil, 0
		}
		cur = append(cur, p.String())
		used += cost
	}
	if len(cur) > 0 {
		chunks = append(chunks, strings.Join(cur, ","))
	}
	return chunks
}

func icmpMatch(m *resources.ICMPMatch, v int, negate bool) []string {
	if m == nil || m.Type == nil {
		return nil
	}
	val := strconv.Itoa(*m.Type)
	if m.Code != nil {
		val += "/" + strconv.Itoa(*m.Code)
	}
	neg := ""
	if negate {
		neg = "! "
	}
	if v == 6 {
		return []string{"-m icmp6 " + neg + "--icmpv6-type " + val}
	}
	return []string{"-m icmp " + neg + "--icmp-type " + val}
}

func protoArg(p *resources.Protocol) string {
	switch p.Number {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "ipv6-icmp"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(int(p.Number))
}

// LastAddr is the last address of p (its broadcast address for IPv4).
func LastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}
