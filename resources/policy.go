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

// PerformanceHintAssumeNeededOnEveryNode is Calico's only performance hint.
const PerformanceHintAssumeNeededOnEveryNode = "AssumeNeededOnEveryNode"

// NetworkPolicy is a namespaced policy: it selects, and its rule selectors
// match, only endpoints and network sets of its own namespace.
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

// PolicySpec is shared by every policy kind. The host-endpoint fields
// (doNotTrack, preDNAT, applyOnForward) and namespaceSelector are
// GlobalNetworkPolicy's only; validation refuses them elsewhere.
type PolicySpec struct {
	// Tier names the Tier the policy belongs to; empty means "default".
	Tier string `json:"tier,omitempty"`
	// Order: lower applies first; unset applies after every ordered policy.
	Order    *float64 `json:"order,omitempty"`
	Selector string   `json:"selector,omitempty"`
	// NamespaceSelector (GlobalNetworkPolicy) selects endpoints by the
	// labels of their namespace (projectcalico.org/name).
	NamespaceSelector string   `json:"namespaceSelector,omitempty"`
	Types             []string `json:"types,omitempty"`
	Ingress           []Rule   `json:"ingress,omitempty"`
	Egress            []Rule   `json:"egress,omitempty"`
	// DoNotTrack applies the rules before connection tracking (host
	// endpoints only); allowed packets are not tracked.
	DoNotTrack bool `json:"doNotTrack,omitempty"`
	// PreDNAT applies the rules before DNAT (host endpoints, ingress only).
	PreDNAT bool `json:"preDNAT,omitempty"`
	// ApplyOnForward applies the rules to traffic forwarded through a host
	// endpoint too, not only to traffic the host terminates.
	ApplyOnForward bool `json:"applyOnForward,omitempty"`
	// ServiceAccountSelector is Kubernetes-only: refused on Docker.
	ServiceAccountSelector string   `json:"serviceAccountSelector,omitempty"`
	PerformanceHints       []string `json:"performanceHints,omitempty"`
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
	p.Spec.defaults()
}

// Default implements Resource.
func (p *GlobalNetworkPolicy) Default() { p.Spec.defaults() }

// defaults fills the tier and applies Calico's rule for types: with none
// given, Ingress when there are ingress rules, Egress when there are
// egress rules, Ingress when there are neither.
func (s *PolicySpec) defaults() {
	if s.Tier == "" {
		s.Tier = DefaultTierName
	}
	if len(s.Types) > 0 {
		return
	}
	if len(s.Ingress) > 0 || len(s.Egress) == 0 {
		s.Types = append(s.Types, PolicyTypeIngress)
	}
	if len(s.Egress) > 0 {
		s.Types = append(s.Types, PolicyTypeEgress)
	}
}

// Validate implements Resource.
func (p *NetworkPolicy) Validate() error {
	v := newValidator(p)
	v.name("metadata.name", p.Name, false)
	v.namespace(p.Namespace)
	p.Spec.validate(v, false)
	return v.err()
}

// Validate implements Resource.
func (p *GlobalNetworkPolicy) Validate() error {
	v := newValidator(p)
	v.name("metadata.name", p.Name, false)
	p.Spec.validate(v, true)
	return v.err()
}

func (s *PolicySpec) validate(v *validator, global bool) {
	if s.Tier != "" {
		v.name("spec.tier", s.Tier, false)
	}
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
	for i, h := range s.PerformanceHints {
		v.oneOf(fieldIdx("spec.performanceHints", i), h, PerformanceHintAssumeNeededOnEveryNode)
	}
	if s.ServiceAccountSelector != "" {
		v.notOnDocker("spec.serviceAccountSelector", "selects Kubernetes service accounts, which Docker containers do not have",
			"label the containers (docker run --label) and select them with spec.selector")
	}
	if global {
		v.selector("spec.namespaceSelector", s.NamespaceSelector)
		s.validateHostFields(v, seen)
		return
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"namespaceSelector", s.NamespaceSelector != ""}, {"doNotTrack", s.DoNotTrack}, {"preDNAT", s.PreDNAT}, {"applyOnForward", s.ApplyOnForward}} {
		if f.set {
			v.add("spec."+f.name, nil, "is a field of GlobalNetworkPolicy only: use a GlobalNetworkPolicy, or remove it")
		}
	}
}

// validateHostFields checks Calico's rules for the host-endpoint fields.
func (s *PolicySpec) validateHostFields(v *validator, types map[string]bool) {
	if s.DoNotTrack && s.PreDNAT {
		v.add("spec.preDNAT", true, "cannot be set together with spec.doNotTrack: choose one")
	}
	if (s.DoNotTrack || s.PreDNAT) && !s.ApplyOnForward {
		v.add("spec.applyOnForward", false, "must be true when spec.doNotTrack or spec.preDNAT is set: untracked and pre-DNAT rules apply to forwarded traffic too")
	}
	if s.PreDNAT {
		if len(s.Egress) > 0 || types[PolicyTypeEgress] {
			v.add("spec.egress", nil, "cannot be used with spec.preDNAT: pre-DNAT policy applies to ingress only; remove the egress rules and the Egress type")
		}
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

// TierName is the spec's tier, "default" when unset.
func (s *PolicySpec) TierName() string {
	if s.Tier == "" {
		return DefaultTierName
	}
	return s.Tier
}
