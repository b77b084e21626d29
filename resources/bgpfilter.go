package resources

import (
	"fmt"
	"regexp"
	"strconv"
)

// KindBGPFilter is the Kind of BGPFilter.
const KindBGPFilter = "BGPFilter"

// BGPFilter controls the routes imported from and exported to the peers
// whose BGPPeer lists it in spec.filters. Rules apply in order, the first
// match decides; a route no rule matches is accepted.
type BGPFilter struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       BGPFilterSpec `json:"spec"`
}

// BGPFilterSpec is the desired state of a BGPFilter.
type BGPFilterSpec struct {
	ExportV4 []BGPFilterRule `json:"exportV4,omitempty"`
	ImportV4 []BGPFilterRule `json:"importV4,omitempty"`
	ExportV6 []BGPFilterRule `json:"exportV6,omitempty"`
	ImportV6 []BGPFilterRule `json:"importV6,omitempty"`
}

// BGPFilterRule is one rule of a BGPFilter.
type BGPFilterRule struct {
	CIDR          string                 `json:"cidr,omitempty"`
	PrefixLength  *BGPFilterPrefixLength `json:"prefixLength,omitempty"`
	MatchOperator string                 `json:"matchOperator,omitempty"`
	Source        string                 `json:"source,omitempty"`
	Interface     string                 `json:"interface,omitempty"`
	PeerType      string                 `json:"peerType,omitempty"`
	Priority      *int                   `json:"priority,omitempty"`
	Communities   *BGPFilterCommunities  `json:"communities,omitempty"`
	ASPathPrefix  []ASNumber             `json:"asPathPrefix,omitempty"`
	Action        string                 `json:"action"`
	Operations    []BGPFilterOperation   `json:"operations,omitempty"`
}

// BGPFilterPrefixLength bounds the matched prefix length.
type BGPFilterPrefixLength struct {
	Min *int `json:"min,omitempty"`
	Max *int `json:"max,omitempty"`
}

// BGPFilterCommunities matches routes carrying the community (Calico
// takes exactly one value): standard aa:nn or large aa:nn:mm.
type BGPFilterCommunities struct {
	Values []string `json:"values,omitempty"`
}

// BGPFilterOperation modifies an accepted route; exactly one field is set.
type BGPFilterOperation struct {
	AddCommunity  *BGPFilterValue       `json:"addCommunity,omitempty"`
	PrependASPath *BGPFilterPrependPath `json:"prependASPath,omitempty"`
	SetPriority   *BGPFilterPriority    `json:"setPriority,omitempty"`
}

// BGPFilterValue is a community to add.
type BGPFilterValue struct {
	Value string `json:"value"`
}

// BGPFilterPrependPath lists AS numbers to prepend.
type BGPFilterPrependPath struct {
	Prefix []ASNumber `json:"prefix"`
}

// BGPFilterPriority is a route priority (metric) to set.
type BGPFilterPriority struct {
	Value int `json:"value"`
}

// NewBGPFilter returns an empty BGPFilter named name.
func NewBGPFilter(name string) *BGPFilter {
	return &BGPFilter{TypeMeta: typeMeta(KindBGPFilter), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (f *BGPFilter) Default() {}

var (
	// bgpFilterIface is what Calico accepts in a rule's interface: a name
	// or a pattern with * (any characters).
	bgpFilterIface = regexp.MustCompile(`^[a-zA-Z0-9_.*-]{1,15}$`)
	communityParts = regexp.MustCompile(`^(\d{1,10}):(\d{1,10})(?::(\d{1,10}))?$`)
)

// ParseCommunity reads a BGP community as Calico writes it: standard
// aa:nn (each part 0-65535) or large aa:nn:mm (each part 0-4294967295).
// It returns the parts and whether the community is large.
func ParseCommunity(s string) (parts []uint32, large bool, err error) {
	m := communityParts.FindStringSubmatch(s)
	if m == nil {
		return nil, false, fmt.Errorf("is not a community: use aa:nn (standard) or aa:nn:mm (large)")
	}
	large = m[3] != ""
	limit := uint64(65535)
	if large {
		limit = 4294967295
	}
	for _, d := range m[1:] {
		if d == "" {
			continue
		}
		n, err := strconv.ParseUint(d, 10, 64)
		if err != nil || n > limit {
			return nil, large, fmt.Errorf("has a part above %d: each part of a standard community is 0-65535, of a large one 0-4294967295", limit)
		}
		parts = append(parts, uint32(n))
	}
	return parts, large, nil
}

func (v *validator) community(field, s string) {
	if _, _, err := ParseCommunity(s); err != nil {
		v.add(field, s, "%s", err.Error())
	}
}

// Validate implements Resource.
func (f *BGPFilter) Validate() error {
	v := newValidator(f)
	v.name("metadata.name", f.Name, false)
	for _, list := range []struct {
		name  string
		rules []BGPFilterRule
		v4    bool
	}{{"exportV4", f.Spec.ExportV4, true}, {"importV4", f.Spec.ImportV4, true}, {"exportV6", f.Spec.ExportV6, false}, {"importV6", f.Spec.ImportV6, false}} {
		for i := range list.rules {
			list.rules[i].validate(v, fieldIdx("spec."+list.name, i), list.v4)
		}
	}
	return v.err()
}

func (r *BGPFilterRule) validate(v *validator, f string, v4 bool) {
	v.oneOf(f+".action", r.Action, "Accept", "Reject")
	maxLen := 128
	if v4 {
		maxLen = 32
	}
	if r.CIDR != "" {
		p, err := ParseCIDR(r.CIDR)
		switch {
		case err != nil:
			v.add(f+".cidr", r.CIDR, "is not a CIDR: give one such as 10.0.0.0/16")
		case p.Addr().Is4() != v4:
			v.add(f+".cidr", r.CIDR, "is of the wrong address family for this list: put it in the %s list", map[bool]string{true: "V6", false: "V4"}[v4])
		}
		if r.MatchOperator == "" {
			v.add(f+".matchOperator", nil, "is required with cidr: use In, NotIn, Equal or NotEqual")
		}
	}
	if r.MatchOperator != "" {
		v.oneOf(f+".matchOperator", r.MatchOperator, "In", "NotIn", "Equal", "NotEqual")
		if r.CIDR == "" {
			v.add(f+".cidr", nil, "is required with matchOperator: give the CIDR to compare routes with")
		}
	}
	v.optOneOf(f+".source", r.Source, "RemotePeers")
	if r.Interface != "" && r.Interface != "*" && !bgpFilterIface.MatchString(r.Interface) {
		v.add(f+".interface", r.Interface, "is not an interface name or pattern: use 1 to 15 letters, digits, '_', '.', '-' and '*' (any characters), such as cali* or *.calico")
	}
	v.optOneOf(f+".peerType", r.PeerType, "eBGP", "iBGP")
	if pl := r.PrefixLength; pl != nil {
		if r.CIDR == "" {
			v.add(f+".prefixLength", nil, "needs cidr: give the CIDR (and matchOperator) whose routes' lengths it bounds")
		}
		v.intRange(f+".prefixLength.min", pl.Min, 0, maxLen)
		v.intRange(f+".prefixLength.max", pl.Max, 1, maxLen)
		if pl.Min != nil && pl.Max != nil && *pl.Min > *pl.Max {
			v.add(f+".prefixLength.min", *pl.Min, "is larger than prefixLength.max (%d)", *pl.Max)
		}
	}
	v.intRange(f+".priority", r.Priority, 1, 2147483646)
	if r.Communities != nil {
		if n := len(r.Communities.Values); n != 1 {
			v.add(f+".communities.values", n, "must list exactly one community (as in Calico): write one rule per community")
		}
		for i, c := range r.Communities.Values {
			v.community(fieldIdx(f+".communities.values", i), c)
		}
	}
	if l := len(r.ASPathPrefix); l > 10 {
		v.add(f+".asPathPrefix", l, "must list at most 10 AS numbers")
	}
	for i, asn := range r.ASPathPrefix {
		v.asNumber(fieldIdx(f+".asPathPrefix", i), &asn)
	}
	if len(r.Operations) > 0 && r.Action != "Accept" {
		v.add(f+".operations", nil, "apply only to accepted routes: set action Accept or remove them")
	}
	if len(r.Operations) > 10 {
		v.add(f+".operations", len(r.Operations), "has more than 10 operations")
	}
	for i, op := range r.Operations {
		r.validateOp(v, fieldIdx(f+".operations", i), op)
	}
}

func (r *BGPFilterRule) validateOp(v *validator, f string, op BGPFilterOperation) {
	n := 0
	if op.AddCommunity != nil {
		n++
		v.community(f+".addCommunity.value", op.AddCommunity.Value)
	}
	if op.PrependASPath != nil {
		n++
		if l := len(op.PrependASPath.Prefix); l < 1 || l > 10 {
			v.add(f+".prependASPath.prefix", l, "must list 1 to 10 AS numbers")
		}
		for i, asn := range op.PrependASPath.Prefix {
			v.asNumber(fieldIdx(f+".prependASPath.prefix", i), &asn)
		}
	}
	if op.SetPriority != nil {
		n++
		p := op.SetPriority.Value
		v.intRange(f+".setPriority.value", &p, 1, 2147483646)
	}
	if n != 1 {
		v.add(f, nil, "must set exactly one of addCommunity, prependASPath or setPriority")
	}
}
