package resources

// KindProfile is the Kind of Profile.
const KindProfile = "Profile"

// Profile groups endpoints: it gives them labels and, after policies
// (which always come first), rules.
type Profile struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       ProfileSpec `json:"spec"`
}

// ProfileSpec is the desired state of a Profile.
type ProfileSpec struct {
	Ingress       []Rule            `json:"ingress,omitempty"`
	Egress        []Rule            `json:"egress,omitempty"`
	LabelsToApply map[string]string `json:"labelsToApply,omitempty"`
}

// NewProfile returns an empty Profile named name.
func NewProfile(name string) *Profile {
	return &Profile{TypeMeta: typeMeta(KindProfile), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (p *Profile) Default() {}

// Validate implements Resource.
func (p *Profile) Validate() error {
	v := newValidator(p)
	v.name("metadata.name", p.Name, true)
	v.labels("spec.labelsToApply", p.Spec.LabelsToApply)
	v.rules("spec.ingress", p.Spec.Ingress)
	v.rules("spec.egress", p.Spec.Egress)
	return v.err()
}
