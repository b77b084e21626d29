package cli

import (
	"fmt"
	"strings"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// DescribeRule is a one-line summary of a v3 rule, e.g.
// "Allow TCP from selector biz_type == 'bookstore' to ports 80".
func DescribeRule(r *resources.Rule) string {
	out := []string{r.Action}
	if r.IPVersion != nil {
		out = append(out, fmt.Sprintf("IPv%d", *r.IPVersion))
	}
	if r.Protocol != nil {
		out = append(out, r.Protocol.String())
	}
	if r.NotProtocol != nil {
		out = append(out, "not", r.NotProtocol.String())
	}
	out = appendICMP(out, "", r.ICMP)
	out = appendICMP(out, "not ", r.NotICMP)
	if e := describeEntity(&r.Source); e != "" {
		out = append(out, "from", e)
	}
	if e := describeEntity(&r.Destination); e != "" {
		out = append(out, "to", e)
	}
	if len(out) == 1 {
		out = append(out, "(any packet)")
	}
	return strings.Join(out, " ")
}

func appendICMP(out []string, neg string, m *resources.ICMPMatch) []string {
	if m == nil || m.Type == nil {
		return out
	}
	s := fmt.Sprintf("%stype %d", neg, *m.Type)
	if m.Code != nil {
		s += fmt.Sprintf(" code %d", *m.Code)
	}
	return append(out, s)
}

func describeEntity(e *resources.EntityRule) string {
	var parts []string
	add := func(label, v string) {
		if v != "" {
			parts = append(parts, label+" "+v)
		}
	}
	add("selector", e.Selector)
	add("not selector", e.NotSelector)
	add("nets", strings.Join(e.Nets, ","))
	add("not nets", strings.Join(e.NotNets, ","))
	add("ports", PortList(e.Ports))
	add("not ports", PortList(e.NotPorts))
	return strings.Join(parts, " ")
}
