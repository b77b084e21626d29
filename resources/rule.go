package resources

import (
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/selector"
)

// Rule actions.
const (
	ActionAllow = "Allow"
	ActionDeny  = "Deny"
	ActionLog   = "Log"
	ActionPass  = "Pass"
)

// Rule is one policy or profile rule.
type Rule struct {
	// Metadata is kept and shown, never interpreted (Calico's RuleMetadata).
	Metadata    *RuleMetadata `json:"metadata,omitempty"`
	Action      string        `json:"action"`
	IPVersion   *int          `json:"ipVersion,omitempty"`
	Protocol    *Protocol     `json:"protocol,omitempty"`
	NotProtocol *Protocol     `json:"notProtocol,omitempty"`
	ICMP        *ICMPMatch    `json:"icmp,omitempty"`
	NotICMP     *ICMPMatch    `json:"notICMP,omitempty"`
	Source      EntityRule    `json:"source,omitempty"`
	Destination EntityRule    `json:"destination,omitempty"`
	// HTTP is Calico's application-layer match; refused on Docker.
	HTTP *HTTPMatch `json:"http,omitempty"`
}

// RuleMetadata is per-rule information for operators; it never changes
// what a rule matches.
type RuleMetadata struct {
	Annotations map[string]string `json:"annotations,omitempty"`
}

// HTTPMatch is Calico's application-layer (Envoy) match. It is decoded so
// the error can say why it does not apply here.
type HTTPMatch struct {
	Methods []string            `json:"methods,omitempty"`
	Paths   []map[string]string `json:"paths,omitempty"`
}

// ServiceAccountMatch is Calico's Kubernetes service-account match,
// decoded only to be refused with a reason.
type ServiceAccountMatch struct {
	Names    []string `json:"names,omitempty"`
	Selector string   `json:"selector,omitempty"`
}

// ServiceMatch is Calico's Kubernetes Service match, decoded only to be
// refused with a reason.
type ServiceMatch struct {
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

// ICMPMatch matches an ICMP type and optionally a code.
type ICMPMatch struct {
	Type *int `json:"type,omitempty"`
	Code *int `json:"code,omitempty"`
}

// EntityRule matches the source or destination of a packet.
type EntityRule struct {
	Nets        []string `json:"nets,omitempty"`
	NotNets     []string `json:"notNets,omitempty"`
	Selector    string   `json:"selector,omitempty"`
	NotSelector string   `json:"notSelector,omitempty"`
	Ports       []Port   `json:"ports,omitempty"`
	NotPorts    []Port   `json:"notPorts,omitempty"`
	// NamespaceSelector scopes Selector/NotSelector to the namespaces it
	// matches (by the label projectcalico.org/name); global() selects the
	// non-namespaced endpoints and network sets.
	NamespaceSelector string               `json:"namespaceSelector,omitempty"`
	ServiceAccounts   *ServiceAccountMatch `json:"serviceAccounts,omitempty"`
	Services          *ServiceMatch        `json:"services,omitempty"`
}

func (v *validator) selector(field, s string) {
	if s == "" {
		return
	}
	if _, err := selector.Parse(s); err != nil {
		v.add(field, s, "is not a valid selector: %v", err)
	}
}

func (v *validator) rules(field string, rules []Rule) {
	for i := range rules {
		rules[i].validate(v, fieldIdx(field, i))
	}
}

func (r *Rule) validate(v *validator, f string) {
	v.oneOf(f+".action", r.Action, ActionAllow, ActionDeny, ActionLog, ActionPass)
	if r.IPVersion != nil && *r.IPVersion != 4 && *r.IPVersion != 6 {
		v.add(f+".ipVersion", *r.IPVersion, "must be 4 or 6")
	}
	for _, icmp := range []struct {
		name string
		m    *ICMPMatch
	}{{"icmp", r.ICMP}, {"notICMP", r.NotICMP}} {
		if icmp.m == nil {
			continue
		}
		if r.Protocol == nil || !r.Protocol.IsICMP() {
			v.add(f+"."+icmp.name, nil, "needs protocol ICMP or ICMPv6")
		}
		if icmp.m.Code != nil && icmp.m.Type == nil {
			v.add(f+"."+icmp.name+".code", *icmp.m.Code, "needs a type as well")
		}
		if t := icmp.m.Type; t != nil && (*t < 0 || *t > 254) {
			v.add(f+"."+icmp.name+".type", *t, "must be between 0 and 254")
		}
		if c := icmp.m.Code; c != nil && (*c < 0 || *c > 255) {
			v.add(f+"."+icmp.name+".code", *c, "must be between 0 and 255")
		}
	}
	r.Source.validate(v, f+".source", r)
	r.Destination.validate(v, f+".destination", r)
	if r.Metadata != nil {
		v.annotations(f+".metadata.annotations", r.Metadata.Annotations)
	}
	if r.HTTP != nil {
		v.notOnDocker(f+".http", "matches HTTP requests in Calico's application-layer policy (Envoy/Istio), which Docker hosts do not run",
			"match on protocol TCP and destination ports instead, or remove the field")
	}
}

func (e *EntityRule) validate(v *validator, f string, r *Rule) {
	v.selector(f+".selector", e.Selector)
	v.selector(f+".notSelector", e.NotSelector)
	v.selector(f+".namespaceSelector", e.NamespaceSelector)
	if e.ServiceAccounts != nil {
		v.notOnDocker(f+".serviceAccounts", "matches Kubernetes service accounts, which Docker containers do not have",
			"label the containers (docker run --label) and match them with a selector")
	}
	if e.Services != nil {
		v.notOnDocker(f+".services", "matches Kubernetes Services, which do not exist on Docker",
			"match the service's containers with a selector, or its addresses with nets")
	}
	for _, nets := range []struct {
		name string
		list []string
	}{{"nets", e.Nets}, {"notNets", e.NotNets}} {
		for i, n := range nets.list {
			p, err := netip.ParsePrefix(n)
			if err != nil {
				if a, err2 := netip.ParseAddr(n); err2 == nil {
					p = netip.PrefixFrom(a, a.BitLen())
				} else {
					v.add(fieldIdx(f+"."+nets.name, i), n, "is not a CIDR: give one such as 10.0.0.0/8")
					continue
				}
			}
			if r.IPVersion != nil && (p.Addr().Is4() != (*r.IPVersion == 4)) {
				v.add(fieldIdx(f+"."+nets.name, i), n, "does not match ipVersion %d", *r.IPVersion)
			}
		}
	}
	if len(e.Ports) > 0 || len(e.NotPorts) > 0 {
		if r.Protocol == nil || !r.Protocol.HasPorts() {
			v.add(f+".ports", nil, "need protocol TCP, UDP or SCTP on the rule: add `protocol: TCP`")
		}
	}
}
