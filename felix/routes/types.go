package routes

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// Defaults, as Calico's.
const (
	DefaultRouteProtocol = 81
	DefaultVXLANDevice   = "vxlan.calico"
	DefaultVXLANVNI      = 4096
	DefaultVXLANPort     = 4789
	DefaultVXLANMTU      = 1450
	IPIPDevice           = "tunl0"
	DefaultIPIPMTU       = 1480
)

// Route is one desired route in the main table.
type Route struct {
	Dst netip.Prefix
	Gw  netip.Addr // next hop
	// Dev is the output device; empty lets the kernel choose it from Gw
	// (a next hop on a directly connected network).
	Dev    string
	OnLink bool // the next hop is on Dev even without a route to it
	// Priority is the route's metric (a BGPFilter setPriority); 0: the
	// kernel's default.
	Priority int
}

func (r Route) String() string {
	s := r.Dst.String() + " via " + r.Gw.String()
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.OnLink {
		s += " onlink"
	}
	if r.Priority != 0 {
		s += fmt.Sprintf(" metric %d", r.Priority)
	}
	return s
}

// VXLAN is the desired local VXLAN tunnel endpoint.
type VXLAN struct {
	VNI   int
	Port  int
	MTU   int
	MAC   net.HardwareAddr
	Addr  netip.Addr // this node's tunnel address, put on the device as /32
	Local netip.Addr // this node's underlay address (source of the tunnel)
}

// VTEP is another node's tunnel endpoint.
type VTEP struct {
	Node string
	MAC  net.HardwareAddr
	Addr netip.Addr // its tunnel address
	IP   netip.Addr // its underlay address
}

func (v VTEP) String() string { return fmt.Sprintf("%s (%s at %s, %s)", v.Node, v.Addr, v.IP, v.MAC) }

// IPIP is the desired configuration of tunl0.
type IPIP struct {
	MTU  int
	Addr netip.Addr // this node's IPIP tunnel address, as /32
}

// Desired is the whole state the Dataplane converges on.
type Desired struct {
	Routes []Route
	VXLAN  *VXLAN // nil: no vxlan.calico
	VTEPs  []VTEP
	IPIP   *IPIP // nil: tunl0 is not configured
	// KeepStale keeps routes of ours that are not desired (instead of
	// deleting them): set while BGP re-learns routes after a restart.
	KeepStale bool
}

// Clone returns a deep copy of d.
func (d Desired) Clone() Desired {
	d.Routes, d.VTEPs = slices.Clone(d.Routes), slices.Clone(d.VTEPs)
	if d.VXLAN != nil {
		v := *d.VXLAN
		d.VXLAN = &v
	}
	if d.IPIP != nil {
		i := *d.IPIP
		d.IPIP = &i
	}
	return d
}

// Status reports the last apply.
type Status struct {
	InSync bool
	Routes int // desired routes in place
	// Conflicts are desired routes whose destination another protocol's
	// route holds.
	Conflicts     []string
	IPIPAvailable bool
	IPIPReason    string // why IPIP is unavailable
	LastError     string
	Applies       int
}
