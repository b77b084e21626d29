package resources

import "fmt"

// Kinds of the policy resources.
const (
	KindNetworkPolicy       = "NetworkPolicy"
	KindGlobalNetworkPolicy = "GlobalNetworkPolicy"
)

// Policy types.
const (
	PolicyTypeIngress = "Ingress"
	PolicyTypeEgress  = "Egress"
)

// NetworkPolicy is a namespaced policy; only namespace "default" exists.
type NetworkPolicy struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       PolicySpec `json:"spec"`
}

// GlobalNetworkPolicy is a cluster-wide policy.
type GlobalNetworkPolicy struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       PolicySpec `json:"spec"`
}

// PolicySpec is shared by NetworkPolicy and GlobalNetworkPolicy.
type PolicySpec struct {
	// Order: lower applies first; unset applies after every ordered policy.
	Order    *float64 `json:"order,omitempty"`
	Selector string   `json:"selector,omitempty"`
	Types    []string `json:"types,omitempty"`
	Ingress  []Rule   `json:"ingress,omitempty"`
	Egress   []Rule   `json:"egress,omitempty"`
}

// NewNetworkPolicy returns an empty NetworkPolicy in the default namespace.
func NewNetworkPolicy(name string) *NetworkPolicy {
	return &NetworkPolicy{TypeMeta: typeMeta(KindNetworkPolicy), ObjectMeta: ObjectMeta{Name: name, Namespace: DefaultNamespace}}
}

// NewGlobalNetworkPolicy returns an empty GlobalNetworkPolicy.
func NewGlobalNetworkPolicy(name string) *GlobalNetworkPolicy {
	return &GlobalNetworkPolicy{TypeMeta: typeMeta(KindGlobalNetworkPolicy), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (p *NetworkPolicy) Default() {
	if p.Namespace == "" {
		p.Namespace = DefaultNamespace
	}
	p.Spec.defaultTypes()
}

// Default implements Resource.
func (p *GlobalNetworkPolicy) Default() { p.Spec.defaultTypes() }

// defaultTypes applies Calico's rule: with no types given, Ingress always,
// plus Egress when there are egress rules.
func (s *PolicySpec) defaultTypes() {
	if len(s.Types) > 0 {
		return
	}
	s.Types = []string{PolicyTypeIngress}
	if len(s.Egress) > 0 {
		s.Types = append(s.Types, PolicyTypeEgress)
	}
}

// Validate implements Resource.
func (p *NetworkPolicy) Validate() error {
	v := newValidator(p)
	v.name("metadata.name", p.Name, false)
	v.namespace(p.Namespace)
	p.Spec.validate(v)
	return v.err()
}

// Validate implements Resource.
func (p *GlobalNetworkPolicy) Validate() error {
	v := newValidator(p)
	v.name("metadata.name", p.Name, false)
	p.Spec.validate(v)
	return v.err()
}

func (s *PolicySpec) validate(v *validator) {
	v.selector("spec.selector", s.Selector)
	seen := map[string]bool{}
	for i, t := range s.Types {
		f := fieldIdx("spec.types", i)
		v.oneOf(f, t, PolicyTypeIngress, PolicyTypeEgress)
		if seen[t] {
			v.add(f, t, "is listed twice")
		}
		seen[t] = true
	}
	if len(s.Types) > 0 {
		if len(s.Ingress) > 0 && !seen[PolicyTypeIngress] {
			v.add("spec.ingress", nil, "has rules but spec.types lacks Ingress: add it or remove the rules")
		}
		if len(s.Egress) > 0 && !seen[PolicyTypeEgress] {
			v.add("spec.egress", nil, "has rules but spec.types lacks Egress: add it or remove the rules")
		}
	}
	v.rules("spec.ingress", s.Ingress)
	v.rules("spec.egress", s.Egress)
}

func (v *validator) namespace(ns string) {
	if ns != "" && ns != DefaultNamespace {
		v.add("metadata.namespace", ns, "only namespace %q exists on Docker: remove metadata.namespace or set it to %q", DefaultNamespace, DefaultNamespace)
	}
}

func fieldIdx(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// AppliesTo reports whether the spec has the given type (after defaulting).
func (s *PolicySpec) AppliesTo(policyType string) bool {
	for _, t := range s.Types {
		if t == policyType {
			return true
		}
	}
	return false
}
