package resources

// Kinds of the network sets.
const (
	KindGlobalNetworkSet = "GlobalNetworkSet"
	KindNetworkSet       = "NetworkSet"
)

// GlobalNetworkSet is a labelled set of CIDRs that rule selectors of
// global policies (and of namespaced ones through namespaceSelector
// global()) match like endpoints.
type GlobalNetworkSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       NetworkSetSpec `json:"spec"`
}

// NetworkSet is a labelled set of CIDRs in a namespace: rule selectors of
// NetworkPolicies of that namespace match it.
type NetworkSet struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       NetworkSetSpec `json:"spec"`
}

// NetworkSetSpec lists the networks of a set.
type NetworkSetSpec struct {
	Nets []string `json:"nets,omitempty"`
}

// NewGlobalNetworkSet returns an empty GlobalNetworkSet named name.
func NewGlobalNetworkSet(name string) *GlobalNetworkSet {
	return &GlobalNetworkSet{TypeMeta: typeMeta(KindGlobalNetworkSet), ObjectMeta: ObjectMeta{Name: name}}
}

// NewNetworkSet returns an empty NetworkSet in the default namespace.
func NewNetworkSet(name string) *NetworkSet {
	return &NetworkSet{TypeMeta: typeMeta(KindNetworkSet), ObjectMeta: ObjectMeta{Name: name, Namespace: DefaultNamespace}}
}

// Default implements Resource.
func (s *GlobalNetworkSet) Default() {}

// Default implements Resource.
func (s *NetworkSet) Default() {
	if s.Namespace == "" {
		s.Namespace = DefaultNamespace
	}
}

// Validate implements Resource.
func (s *GlobalNetworkSet) Validate() error {
	v := newValidator(s)
	v.name("metadata.name", s.Name, false)
	v.labels("metadata.labels", s.Labels)
	v.nets("spec.nets", s.Spec.Nets)
	return v.err()
}

// Validate implements Resource.
func (s *NetworkSet) Validate() error {
	v := newValidator(s)
	v.name("metadata.name", s.Name, false)
	v.namespace(s.Namespace)
	v.labels("metadata.labels", s.Labels)
	v.nets("spec.nets", s.Spec.Nets)
	return v.err()
}

// nets checks a list of CIDRs (a bare address means a single host).
func (v *validator) nets(field string, nets []string) {
	for i, n := range nets {
		if _, err := ParseNet(n); err != nil {
			v.add(fieldIdx(field, i), n, "is not a CIDR: give one such as 192.0.2.128/25 or 2001:db8::/64")
		}
	}
}
