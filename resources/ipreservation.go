package resources

// KindIPReservation is the Kind of IPReservation.
const KindIPReservation = "IPReservation"

// IPReservation lists addresses IPAM must never hand out automatically.
type IPReservation struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       IPReservationSpec `json:"spec"`
}

// IPReservationSpec is the desired state of an IPReservation.
type IPReservationSpec struct {
	// ReservedCIDRs are addresses or CIDRs, IPv4 or IPv6.
	ReservedCIDRs []string `json:"reservedCIDRs,omitempty"`
}

// NewIPReservation returns an empty IPReservation named name.
func NewIPReservation(name string) *IPReservation {
	return &IPReservation{TypeMeta: typeMeta(KindIPReservation), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (r *IPReservation) Default() {}

// Validate implements Resource.
func (r *IPReservation) Validate() error {
	v := newValidator(r)
	v.name("metadata.name", r.Name, false)
	if len(r.Spec.ReservedCIDRs) == 0 {
		v.add("spec.reservedCIDRs", nil, "is required: list the addresses or CIDRs to keep out of IPAM")
	}
	v.nets("spec.reservedCIDRs", r.Spec.ReservedCIDRs)
	return v.err()
}
