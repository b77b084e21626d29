package resources

import "fmt"

// KindIPPool is the Kind of IPPool.
const KindIPPool = "IPPool"

// Encapsulation modes of IPPool.spec.ipipMode and vxlanMode.
const (
	EncapNever       = "Never"
	EncapAlways      = "Always"
	EncapCrossSubnet = "CrossSubnet"
)

// Default block sizes, as Calico's.
const (
	DefaultBlockSizeV4 = 26
	DefaultBlockSizeV6 = 122
)

// IPPool is a range workload addresses are allocated from.
type IPPool struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       IPPoolSpec `json:"spec"`
}

// IPPoolSpec is the desired state of an IPPool.
type IPPoolSpec struct {
	CIDR         string `json:"cidr"`
	BlockSize    int    `json:"blockSize,omitempty"`
	IPIPMode     string `json:"ipipMode,omitempty"`
	VXLANMode    string `json:"vxlanMode,omitempty"`
	NATOutgoing  bool   `json:"natOutgoing,omitempty"`
	Disabled     bool   `json:"disabled,omitempty"`
	NodeSelector string `json:"nodeSelector,omitempty"`
	// DisableBGPExport keeps the pool's routes out of BGP.
	DisableBGPExport bool `json:"disableBGPExport,omitempty"`
	// AllowedUses: Workload and/or Tunnel (default both); LoadBalancer.
	AllowedUses []string `json:"allowedUses,omitempty"`
	// AssignmentMode: Automatic (default) or Manual (only explicit requests).
	AssignmentMode string `json:"assignmentMode,omitempty"`
}

// IPPool uses and assignment modes.
const (
	IPPoolUseWorkload     = "Workload"
	IPPoolUseTunnel       = "Tunnel"
	IPPoolUseLoadBalancer = "LoadBalancer"
	AssignmentAutomatic   = "Automatic"
	AssignmentManual      = "Manual"
)

// NewIPPool returns an empty IPPool named name.
func NewIPPool(name string) *IPPool {
	return &IPPool{TypeMeta: typeMeta(KindIPPool), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (p *IPPool) Default() {
	if p.Spec.IPIPMode == "" {
		p.Spec.IPIPMode = EncapNever
	}
	if p.Spec.VXLANMode == "" {
		p.Spec.VXLANMode = EncapNever
	}
	if p.Spec.NodeSelector == "" {
		p.Spec.NodeSelector = "all()"
	}
	p.defaultUses()
	if p.Spec.BlockSize == 0 {
		if pfx, err := ParseCIDR(p.Spec.CIDR); err == nil && pfx.Addr().Is6() {
			p.Spec.BlockSize = DefaultBlockSizeV6
		} else {
			p.Spec.BlockSize = DefaultBlockSizeV4
		}
	}
}

// Validate implements Resource.
func (p *IPPool) Validate() error {
	v := newValidator(p)
	v.name("metadata.name", p.Name, false)
	pfx, ok := v.cidr("spec.cidr", p.Spec.CIDR)
	p.validateUses(v)
	modes := []string{EncapNever, EncapAlways, EncapCrossSubnet}
	if p.Spec.IPIPMode != "" {
		v.oneOf("spec.ipipMode", p.Spec.IPIPMode, modes...)
	}
	if p.Spec.VXLANMode != "" {
		v.oneOf("spec.vxlanMode", p.Spec.VXLANMode, modes...)
	}
	if on(p.Spec.IPIPMode) && on(p.Spec.VXLANMode) {
		v.add("spec.vxlanMode", p.Spec.VXLANMode, "cannot be enabled together with spec.ipipMode (%s): choose one encapsulation", p.Spec.IPIPMode)
	}
	if !ok {
		return v.err()
	}
	if pfx != pfx.Masked() {
		v.add("spec.cidr", p.Spec.CIDR, "has host bits set: use %s", pfx.Masked())
	}
	checkSpecialRanges(v, "spec.cidr", pfx.Masked()) // ippool_ranges.go
	minBlock, maxBlock := 20, 32
	if pfx.Addr().Is6() {
		minBlock, maxBlock = 116, 128
		if on(p.Spec.IPIPMode) {
			v.add("spec.ipipMode", p.Spec.IPIPMode, "IPIP carries IPv4 only: set Never on an IPv6 pool")
		}
	}
	if bs := p.Spec.BlockSize; bs != 0 {
		switch {
		case bs < minBlock || bs > maxBlock:
			v.add("spec.blockSize", bs, "must be between %d and %d for this address family", minBlock, maxBlock)
		case bs < pfx.Bits():
			v.add("spec.blockSize", bs, "is larger than the pool (/%d): use a block size of at least %d", pfx.Bits(), pfx.Bits())
		}
	}
	if pfx.Addr().Is4() && pfx.Bits() > 30 || pfx.Addr().Is6() && pfx.Bits() > 126 {
		v.add("spec.cidr", p.Spec.CIDR, "is too small for a pool: use a prefix of at most /%d", map[bool]int{true: 30, false: 126}[pfx.Addr().Is4()])
	}
	v.selector("spec.nodeSelector", p.Spec.NodeSelector)
	return v.err()
}

func on(mode string) bool { return mode == EncapAlways || mode == EncapCrossSubnet }

// String is a short description used in logs and errors.
func (p *IPPool) String() string { return fmt.Sprintf("%s (%s)", p.Name, p.Spec.CIDR) }

// defaultUses fills allowedUses and assignmentMode with Calico's defaults.
func (p *IPPool) defaultUses() {
	if len(p.Spec.AllowedUses) == 0 {
		p.Spec.AllowedUses = []string{IPPoolUseWorkload, IPPoolUseTunnel}
	}
	if p.Spec.AssignmentMode == "" {
		p.Spec.AssignmentMode = AssignmentAutomatic
	}
}

// validateUses checks allowedUses and assignmentMode.
func (p *IPPool) validateUses(v *validator) {
	seen := map[string]bool{}
	for i, u := range p.Spec.AllowedUses {
		f := fieldIdx("spec.allowedUses", i)
		v.oneOf(f, u, IPPoolUseWorkload, IPPoolUseTunnel, IPPoolUseLoadBalancer)
		if seen[u] {
			v.add(f, u, "is listed twice")
		}
		seen[u] = true
	}
	if seen[IPPoolUseLoadBalancer] && len(seen) > 1 {
		v.add("spec.allowedUses", p.Spec.AllowedUses, "LoadBalancer cannot be combined with other uses: make a separate pool")
	}
	v.optOneOf("spec.assignmentMode", p.Spec.AssignmentMode, AssignmentAutomatic, AssignmentManual)
}

// AllowsUse reports whether the pool may serve use (defaults applied).
func (p *IPPool) AllowsUse(use string) bool {
	if len(p.Spec.AllowedUses) == 0 {
		return use == IPPoolUseWorkload || use == IPPoolUseTunnel
	}
	for _, u := range p.Spec.AllowedUses {
		if u == use {
			return true
		}
	}
	return false
}
