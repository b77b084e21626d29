package resources

// Kinds of the staged policies.
const (
	KindStagedNetworkPolicy       = "StagedNetworkPolicy"
	KindStagedGlobalNetworkPolicy = "StagedGlobalNetworkPolicy"
)

// Staged actions: what enforcing the staged policy would do.
const (
	StagedActionSet    = "Set"    // the policy would be created or replaced
	StagedActionDelete = "Delete" // the policy of the same name would be deleted
)

// StagedNetworkPolicy is a NetworkPolicy previewed, never enforced:
// `calicoctl policy explain` shows what it would have decided.
type StagedNetworkPolicy struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       StagedPolicySpec `json:"spec"`
}

// StagedGlobalNetworkPolicy is a GlobalNetworkPolicy previewed, never
// enforced.
type StagedGlobalNetworkPolicy struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       StagedPolicySpec `json:"spec"`
}

// StagedPolicySpec is a policy spec with the staged action.
type StagedPolicySpec struct {
	// StagedAction is Set (default) or Delete.
	StagedAction string `json:"stagedAction,omitempty"`
	PolicySpec   `json:",inline"`
}

// NewStagedNetworkPolicy returns an empty StagedNetworkPolicy in the default namespace.
func NewStagedNetworkPolicy(name string) *StagedNetworkPolicy {
	return &StagedNetworkPolicy{TypeMeta: typeMeta(KindStagedNetworkPolicy), ObjectMeta: ObjectMeta{Name: name, Namespace: DefaultNamespace}}
}

// NewStagedGlobalNetworkPolicy returns an empty StagedGlobalNetworkPolicy.
func NewStagedGlobalNetworkPolicy(name string) *StagedGlobalNetworkPolicy {
	return &StagedGlobalNetworkPolicy{TypeMeta: typeMeta(KindStagedGlobalNetworkPolicy), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (p *StagedNetworkPolicy) Default() {
	if p.Namespace == "" {
		p.Namespace = DefaultNamespace
	}
	p.Spec.defaults()
}

// Default implements Resource.
func (p *StagedGlobalNetworkPolicy) Default() { p.Spec.defaults() }

func (s *StagedPolicySpec) defaults() {
	if s.StagedAction == "" {
		s.StagedAction = StagedActionSet
	}
	if s.StagedAction == StagedActionSet {
		s.PolicySpec.defaults()
	}
}

// Validate implements Resource.
func (p *StagedNetworkPolicy) Validate() error {
	v := newValidator(p)
	v.name("metadata.name", p.Name, false)
	v.namespace(p.Namespace)
	p.Spec.validate(v, false)
	return v.err()
}

// Validate implements Resource.
func (p *StagedGlobalNetworkPolicy) Validate() error {
	v := newValidator(p)
	v.name("metadata.name", p.Name, false)
	p.Spec.validate(v, true)
	return v.err()
}

func (s *StagedPolicySpec) validate(v *validator, global bool) {
	if s.StagedAction != "" {
		v.oneOf("spec.stagedAction", s.StagedAction, StagedActionSet, StagedActionDelete)
	}
	if s.StagedAction == StagedActionDelete {
		if s.Selector != "" || len(s.Ingress) > 0 || len(s.Egress) > 0 || len(s.Types) > 0 {
			v.add("spec.stagedAction", s.StagedAction, "Delete takes no selector, types or rules: it previews deleting the policy of the same name; remove them")
		}
		return
	}
	s.PolicySpec.validate(v, global)
}
