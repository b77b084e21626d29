package calc

import (
	"cmp"
	"fmt"
	"net/netip"
	"strings"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// Direction is ingress (to the endpoint) or egress (from it).
type Direction int

// Directions.
const (
	Ingress Direction = iota
	Egress
)

func (d Direction) String() string {
	if d == Ingress {
		return "ingress"
	}
	return "egress"
}

// Policy is a compiled NetworkPolicy or GlobalNetworkPolicy (or a staged
// one, compiled as the policy it would become).
type Policy struct {
	Key       string // "NetworkPolicy/default/name" or "GlobalNetworkPolicy/name"
	Kind      string
	Name      string
	Namespace string // NetworkPolicy's namespace; "" for global policies
	Tier      string // "default" unless spec.tier says otherwise
	Order     *float64
	Selector  selector.Selector // scoped to Namespace for a NetworkPolicy
	Types     [2]bool           // indexed by Direction
	Ingress   []Rule
	Egress    []Rule
	// HostOnly is set for doNotTrack and preDNAT policies: Calico applies
	// them to host endpoints only, never to workloads.
	HostOnly bool
	// The host endpoint fields (see AppliesToHost).
	DoNotTrack, PreDNAT, ApplyOnForward bool
}

// AppliesTo reports whether the policy applies to workload endpoints in
// the direction.
func (p *Policy) AppliesTo(d Direction) bool { return !p.HostOnly && p.Types[d] }

// Rules returns the rules for a direction.
func (p *Policy) Rules(d Direction) []Rule {
	if d == Ingress {
		return p.Ingress
	}
	return p.Egress
}

// Profile is a compiled Profile.
type Profile struct {
	Name          string
	Ingress       []Rule
	Egress        []Rule
	LabelsToApply map[string]string
}

// Rules returns the rules for a direction.
func (p *Profile) Rules(d Direction) []Rule {
	if d == Ingress {
		return p.Ingress
	}
	return p.Egress
}

// Rule is a compiled rule: selectors parsed, nets parsed.
type Rule struct {
	Action      string
	IPVersion   int // 0 = both
	Protocol    *resources.Protocol
	NotProtocol *resources.Protocol
	ICMP        *resources.ICMPMatch
	NotICMP     *resources.ICMPMatch
	Src, Dst    Entity
}

// Entity is a compiled source or destination match.
type Entity struct {
	Nets, NotNets         []netip.Prefix
	Selector, NotSelector selector.Selector // nil when absent
	Ports, NotPorts       []resources.Port
}

// PolicyKey is the kind-qualified key of a policy.
func PolicyKey(kind, namespace, name string) string {
	if kind == resources.KindNetworkPolicy || kind == resources.KindStagedNetworkPolicy {
		if namespace == "" {
			namespace = resources.DefaultNamespace
		}
		return kind + "/" + namespace + "/" + name
	}
	return kind + "/" + name
}

// comparePolicies orders within a tier: by order ascending, unset last,
// then name, then key.
func comparePolicies(a, b *Policy) int {
	switch {
	case a.Order != nil && b.Order != nil && *a.Order != *b.Order:
		return cmp.Compare(*a.Order, *b.Order)
	case a.Order != nil && b.Order == nil:
		return -1
	case a.Order == nil && b.Order != nil:
		return 1
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return strings.Compare(a.Key, b.Key)
}

func compilePolicy(obj resources.Resource) (*Policy, error) {
	var spec resources.PolicySpec
	switch p := obj.(type) {
	case *resources.NetworkPolicy:
		spec = p.Spec
	case *resources.GlobalNetworkPolicy:
		spec = p.Spec
	case *resources.StagedNetworkPolicy:
		spec = p.Spec.PolicySpec
	case *resources.StagedGlobalNetworkPolicy:
		spec = p.Spec.PolicySpec
	default:
		return nil, fmt.Errorf("not a policy: %T", obj)
	}
	m := obj.Meta()
	kind := obj.GetTypeMeta().Kind
	sc := scope{}
	if kind == resources.KindNetworkPolicy || kind == resources.KindStagedNetworkPolicy {
		sc.namespace = cmp.Or(m.Namespace, resources.DefaultNamespace)
	}
	sel, err := policySelector(kind, sc.namespace, &spec)
	if err != nil {
		return nil, err
	}
	p := &Policy{Key: PolicyKey(kind, m.Namespace, m.Name), Kind: kind, Name: m.Name, Namespace: sc.namespace,
		Tier: spec.TierName(), Order: spec.Order, Selector: sel, HostOnly: spec.DoNotTrack || spec.PreDNAT,
		DoNotTrack: spec.DoNotTrack, PreDNAT: spec.PreDNAT, ApplyOnForward: spec.ApplyOnForward}
	if len(spec.Types) == 0 { // Calico's defaults, as resources applies them
		p.Types[Ingress] = len(spec.Ingress) > 0 || len(spec.Egress) == 0
		p.Types[Egress] = len(spec.Egress) > 0
	}
	for _, t := range spec.Types {
		p.Types[Ingress] = p.Types[Ingress] || t == resources.PolicyTypeIngress
		p.Types[Egress] = p.Types[Egress] || t == resources.PolicyTypeEgress
	}
	if p.Ingress, err = compileRules(spec.Ingress, sc); err != nil {
		return nil, err
	}
	if p.Egress, err = compileRules(spec.Egress, sc); err != nil {
		return nil, err
	}
	return p, nil
}

func compileProfile(pr *resources.Profile) *Profile {
	p := &Profile{Name: pr.Name, LabelsToApply: pr.Spec.LabelsToApply}
	var err error
	if p.Ingress, err = compileRules(pr.Spec.Ingress, scope{}); err != nil {
		p.Ingress = []Rule{{Action: resources.ActionDeny}} // fail closed on a rule we cannot read
	}
	if p.Egress, err = compileRules(pr.Spec.Egress, scope{}); err != nil {
		p.Egress = []Rule{{Action: resources.ActionDeny}}
	}
	return p
}

// CompileProfile compiles a Profile resource (exported for tools).
func CompileProfile(pr *resources.Profile) *Profile { return compileProfile(pr) }

// CompilePolicy compiles a policy resource (exported for tools).
func CompilePolicy(obj resources.Resource) (*Policy, error) { return compilePolicy(obj) }

func compileRules(in []resources.Rule, sc scope) ([]Rule, error) {
	out := make([]Rule, 0, len(in))
	for _, r := range in {
		c := Rule{Action: r.Action, Protocol: r.Protocol, NotProtocol: r.NotProtocol, ICMP: r.ICMP, NotICMP: r.NotICMP}
		if r.IPVersion != nil {
			c.IPVersion = *r.IPVersion
		}
		var err error
		if c.Src, err = compileEntity(r.Source, sc); err != nil {
			return nil, err
		}
		if c.Dst, err = compileEntity(r.Destination, sc); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func compileEntity(e resources.EntityRule, sc scope) (Entity, error) {
	var c Entity
	var err error
	if c.Nets, err = parseNets(e.Nets); err != nil {
		return c, err
	}
	if c.NotNets, err = parseNets(e.NotNets); err != nil {
		return c, err
	}
	if c.Selector, err = sc.entitySelector(e.Selector, e.NamespaceSelector); err != nil {
		return c, err
	}
	if e.NotSelector != "" {
		if c.NotSelector, err = sc.entitySelector(e.NotSelector, e.NamespaceSelector); err != nil {
			return c, err
		}
	}
	c.Ports, c.NotPorts = e.Ports, e.NotPorts
	return c, nil
}

func parseNets(in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for _, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, fmt.Errorf("net %q: %w", s, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
