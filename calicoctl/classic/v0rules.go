package classic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// V0Rules is a profile's rules in the JSON form of the original
// calico-docker calicoctl ("calicoctl profile P rule json" printed it,
// "rule update" read it back). See the package comment (commands.go) for how it maps onto v3.
type V0Rules struct {
	ID            string   `json:"id"`
	InboundRules  []V0Rule `json:"inbound_rules"`
	OutboundRules []V0Rule `json:"outbound_rules"`
}

// V0Rule is one v0 rule. Every field but action is optional; a rule
// matches when all the fields it has match.
type V0Rule struct {
	Action    string           `json:"action"`
	Protocol  string           `json:"protocol,omitempty"`
	SrcTag    string           `json:"src_tag,omitempty"`
	SrcNet    string           `json:"src_net,omitempty"`
	SrcPorts  []resources.Port `json:"src_ports,omitempty"`
	DstTag    string           `json:"dst_tag,omitempty"`
	DstNet    string           `json:"dst_net,omitempty"`
	DstPorts  []resources.Port `json:"dst_ports,omitempty"`
	ICMPType  *int             `json:"icmp_type,omitempty"`
	ICMPCode  *int             `json:"icmp_code,omitempty"`
	IPVersion *int             `json:"ip_version,omitempty"`
}

const v0RuleKeys = "action, protocol, src_tag, src_net, src_ports, dst_tag, dst_net, dst_ports, icmp_type, icmp_code, ip_version"

// maxRulesInput bounds what rule update reads from stdin.
const maxRulesInput = 1 << 20

// DecodeV0Rules reads v0 rules JSON strictly: unknown keys, trailing data
// and wrong types are errors that name the problem.
func DecodeV0Rules(r io.Reader) (*V0Rules, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxRulesInput+1))
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	if len(data) > maxRulesInput {
		return nil, fmt.Errorf("rules JSON is larger than %d bytes", maxRulesInput)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New(`no rules on stdin: give the JSON printed by calicoctl profile NAME rule json, e.g. {"id": "NAME", "inbound_rules": [{"action": "allow"}], "outbound_rules": [{"action": "allow"}]}`)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var rules V0Rules
	if err := dec.Decode(&rules); err != nil {
		if strings.Contains(err.Error(), "unknown field") {
			return nil, fmt.Errorf("rules JSON: %w: a rule takes %s", err, v0RuleKeys)
		}
		return nil, fmt.Errorf("rules JSON is not valid: %w", err)
	}
	if dec.More() {
		return nil, errors.New("rules JSON: unexpected data after the rules object: give one object")
	}
	return &rules, nil
}

// tagPattern is what a v0 tag may contain (felix's rule).
var tagPattern = regexp.MustCompile(`^[a-zA-Z0-9_.\-]+$`)

// tagSelectorPattern recognises the selector a tag becomes.
var tagSelectorPattern = regexp.MustCompile(`^has\(([A-Za-z0-9_.\-]+)\)$`)

// tagSelector is the v3 selector of a v0 tag.
func tagSelector(tag string) string { return "has(" + tag + ")" }

// checkTag checks that a tag can be a v3 label key.
func checkTag(field, tag string) error {
	if !tagPattern.MatchString(tag) {
		return fmt.Errorf("%s %q: a tag is letters, digits, '_', '.' and '-'", field, tag)
	}
	if err := selector.ValidateKey(tag); err != nil {
		return fmt.Errorf("%s %q cannot become a v3 label (%v): use a tag that starts and ends with a letter or digit, at most 63 characters", field, tag, err)
	}
	return nil
}

// toV3 converts v0 rules to v3 ingress and egress rules and returns the
// tags they reference.
func (r *V0Rules) toV3() (ingress, egress []resources.Rule, tags []string, err error) {
	var errs []error
	convert := func(field string, in []V0Rule) []resources.Rule {
		out := make([]resources.Rule, 0, len(in))
		for i := range in {
			f := fmt.Sprintf("%s[%d]", field, i)
			rule, ruleTags, err := in[i].toV3(f)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, rule)
			tags = cli.AppendUnique(tags, ruleTags...)
		}
		return out
	}
	ingress = convert("inbound_rules", r.InboundRules)
	egress = convert("outbound_rules", r.OutboundRules)
	if len(errs) > 0 {
		return nil, nil, nil, errors.Join(errs...)
	}
	return ingress, egress, tags, nil
}

func (r *V0Rule) toV3(f string) (resources.Rule, []string, error) {
	var out resources.Rule
	var tags []string
	switch strings.ToLower(r.Action) {
	case "allow":
		out.Action = resources.ActionAllow
	case "deny":
		out.Action = resources.ActionDeny
	default:
		return out, nil, fmt.Errorf(`%s.action %q: use "allow" or "deny"`, f, r.Action)
	}
	if r.Protocol != "" {
		p, err := resources.ParseProtocol(r.Protocol)
		if err != nil {
			return out, nil, fmt.Errorf("%s.protocol: %w", f, err)
		}
		out.Protocol = &p
	}
	if r.IPVersion != nil {
		if *r.IPVersion != 4 && *r.IPVersion != 6 {
			return out, nil, fmt.Errorf("%s.ip_version %d: use 4 or 6", f, *r.IPVersion)
		}
		v := *r.IPVersion
		out.IPVersion = &v
	}
	if err := r.icmpToV3(f, &out); err != nil {
		return out, nil, err
	}
	for _, e := range []struct {
		side     string
		tag, net string
		ports    []resources.Port
		dst      *resources.EntityRule
	}{{"src", r.SrcTag, r.SrcNet, r.SrcPorts, &out.Source}, {"dst", r.DstTag, r.DstNet, r.DstPorts, &out.Destination}} {
		if e.tag != "" {
			if err := checkTag(f+"."+e.side+"_tag", e.tag); err != nil {
				return out, nil, err
			}
			e.dst.Selector = tagSelector(e.tag)
			tags = append(tags, e.tag)
		}
		if e.net != "" {
			n, err := parseV0Net(e.net)
			if err != nil {
				return out, nil, fmt.Errorf("%s.%s_net %q is not a CIDR: give one such as 10.0.0.0/8", f, e.side, e.net)
			}
			if out.IPVersion != nil && n.Addr().Is4() != (*out.IPVersion == 4) {
				return out, nil, fmt.Errorf("%s.%s_net %s does not match ip_version %d", f, e.side, n, *out.IPVersion)
			}
			e.dst.Nets = []string{n.String()}
		}
		if len(e.ports) > 0 {
			if out.Protocol == nil || !out.Protocol.HasPorts() {
				return out, nil, fmt.Errorf(`%s.%s_ports needs "protocol": "tcp" or "udp" in the same rule`, f, e.side)
			}
			e.dst.Ports = append([]resources.Port(nil), e.ports...)
		}
	}
	return out, tags, nil
}

func (r *V0Rule) icmpToV3(f string, out *resources.Rule) error {
	if r.ICMPType == nil && r.ICMPCode == nil {
		return nil
	}
	if out.Protocol == nil || !out.Protocol.IsICMP() {
		return fmt.Errorf(`%s.icmp_type needs "protocol": "icmp" or "icmpv6" in the same rule`, f)
	}
	if r.ICMPType == nil {
		return fmt.Errorf("%s.icmp_code needs an icmp_type as well", f)
	}
	if t := *r.ICMPType; t < 0 || t > 254 {
		return fmt.Errorf("%s.icmp_type %d: use 0 to 254", f, t)
	}
	m := &resources.ICMPMatch{Type: cli.IntPtr(*r.ICMPType)}
	if r.ICMPCode != nil {
		if c := *r.ICMPCode; c < 0 || c > 255 {
			return fmt.Errorf("%s.icmp_code %d: use 0 to 255", f, c)
		}
		m.Code = cli.IntPtr(*r.ICMPCode)
	}
	out.ICMP = m
	return nil
}

// parseV0Net accepts a CIDR or a bare address, as v0 did; host bits are
// cleared (v0 matched on the network).
func parseV0Net(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("not a CIDR: %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// v0RulesOf converts a profile's v3 rules back to the v0 form. It fails,
// naming the rule, when a rule uses something v0 could not express.
func v0RulesOf(p *resources.Profile) (*V0Rules, error) {
	out := &V0Rules{ID: p.Name, InboundRules: []V0Rule{}, OutboundRules: []V0Rule{}}
	var errs []error
	for _, d := range []struct {
		name string
		in   []resources.Rule
		dst  *[]V0Rule
	}{{"ingress", p.Spec.Ingress, &out.InboundRules}, {"egress", p.Spec.Egress, &out.OutboundRules}} {
		for i := range d.in {
			r, err := v0RuleOf(&d.in[i])
			if err != nil {
				errs = append(errs, fmt.Errorf("%s rule %d: %w", d.name, i, err))
				continue
			}
			*d.dst = append(*d.dst, r)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("profile %q has rules with no v0 form (see them with calicoctl get profile %s -o yaml): %w", p.Name, p.Name, errors.Join(errs...))
	}
	return out, nil
}

func v0RuleOf(r *resources.Rule) (V0Rule, error) {
	var out V0Rule
	switch r.Action {
	case resources.ActionAllow, resources.ActionDeny:
		out.Action = strings.ToLower(r.Action)
	default:
		return out, fmt.Errorf("action %s (v0 knows allow and deny)", r.Action)
	}
	if r.NotProtocol != nil || r.NotICMP != nil {
		return out, errors.New("negated protocol or ICMP match")
	}
	if r.Protocol != nil {
		out.Protocol = strings.ToLower(r.Protocol.String())
	}
	if r.ICMP != nil {
		out.ICMPType, out.ICMPCode = r.ICMP.Type, r.ICMP.Code
	}
	out.IPVersion = r.IPVersion
	var err error
	if out.SrcTag, out.SrcNet, out.SrcPorts, err = v0EntityOf(&r.Source); err != nil {
		return out, fmt.Errorf("source: %w", err)
	}
	if out.DstTag, out.DstNet, out.DstPorts, err = v0EntityOf(&r.Destination); err != nil {
		return out, fmt.Errorf("destination: %w", err)
	}
	return out, nil
}

func v0EntityOf(e *resources.EntityRule) (tag, net string, ports []resources.Port, err error) {
	if e.NotSelector != "" || len(e.NotNets) > 0 || len(e.NotPorts) > 0 {
		return "", "", nil, errors.New("negated match (notSelector, notNets or notPorts)")
	}
	if len(e.Nets) > 1 {
		return "", "", nil, fmt.Errorf("%d nets (v0 takes one)", len(e.Nets))
	}
	if e.Selector != "" {
		m := tagSelectorPattern.FindStringSubmatch(strings.TrimSpace(e.Selector))
		if m == nil {
			return "", "", nil, fmt.Errorf("selector %q (v0 knows only tags, which are has(TAG))", e.Selector)
		}
		tag = m[1]
	}
	if len(e.Nets) == 1 {
		net = e.Nets[0]
	}
	return tag, net, e.Ports, nil
}

// text is the rule as the classic "rule show" printed it, e.g.
// "allow tcp to ports 80,443 tag WEB".
func (r *V0Rule) text() string {
	out := []string{r.Action}
	if r.Protocol != "" {
		out = append(out, r.Protocol)
	}
	if r.ICMPType != nil {
		out = append(out, "type", fmt.Sprint(*r.ICMPType))
	}
	if r.ICMPCode != nil {
		out = append(out, "code", fmt.Sprint(*r.ICMPCode))
	}
	side := func(word, tag, net string, ports []resources.Port) {
		if tag == "" && net == "" && len(ports) == 0 {
			return
		}
		out = append(out, word)
		if len(ports) > 0 {
			out = append(out, "ports", cli.PortList(ports))
		}
		if tag != "" {
			out = append(out, "tag", tag)
		}
		if net != "" {
			out = append(out, "cidr", net)
		}
	}
	side("from", r.SrcTag, r.SrcNet, r.SrcPorts)
	side("to", r.DstTag, r.DstNet, r.DstPorts)
	if r.IPVersion != nil {
		out = append(out, fmt.Sprintf("(IPv%d)", *r.IPVersion))
	}
	return strings.Join(out, " ")
}
