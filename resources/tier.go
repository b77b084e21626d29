package resources

// KindTier is the Kind of Tier.
const KindTier = "Tier"

// The default tier: policies without spec.tier belong to it.
const (
	DefaultTierName = "default"
	// DefaultTierOrder is the default tier's fixed order (Calico's).
	DefaultTierOrder = 1_000_000.0
)

// Tier actions taken when a tier selects an endpoint but none of its
// policies decides.
const (
	TierActionDeny = "Deny"
	TierActionPass = "Pass"
)

// Tier is an ordered group of policies. Tiers are evaluated by order
// (ascending, unset last); within a tier, policies by order. Pass in a
// rule goes to the next tier that applies; a tier whose policies select
// the endpoint but do not decide ends in its defaultAction.
type Tier struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       TierSpec `json:"spec"`
}

// TierSpec is the desired state of a Tier.
type TierSpec struct {
	Order         *float64 `json:"order,omitempty"`
	DefaultAction string   `json:"defaultAction,omitempty"`
}

// NewTier returns an empty Tier named name.
func NewTier(name string) *Tier {
	return &Tier{TypeMeta: typeMeta(KindTier), ObjectMeta: ObjectMeta{Name: name}}
}

// NewDefaultTier returns the default tier as Calico creates it.
func NewDefaultTier() *Tier {
	t := NewTier(DefaultTierName)
	t.Default()
	return t
}

// Default implements Resource.
func (t *Tier) Default() {
	if t.Spec.DefaultAction == "" {
		t.Spec.DefaultAction = TierActionDeny
	}
	if t.Name == DefaultTierName && t.Spec.Order == nil {
		o := DefaultTierOrder
		t.Spec.Order = &o
	}
}

// Validate implements Resource.
func (t *Tier) Validate() error {
	v := newValidator(t)
	v.name("metadata.name", t.Name, false)
	if t.Spec.DefaultAction != "" {
		v.oneOf("spec.defaultAction", t.Spec.DefaultAction, TierActionDeny, TierActionPass)
	}
	if t.Name == DefaultTierName {
		if t.Spec.Order != nil && *t.Spec.Order != DefaultTierOrder {
			v.add("spec.order", *t.Spec.Order, "of the default tier is fixed at %v: remove spec.order", DefaultTierOrder)
		}
		if t.Spec.DefaultAction == TierActionPass {
			v.add("spec.defaultAction", t.Spec.DefaultAction, "of the default tier must be Deny: it is the last tier")
		}
	}
	return v.err()
}
