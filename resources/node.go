package resources

import "net/netip"

// KindNode is the Kind of Node.
const KindNode = "Node"

// Node is one host running the daemon.
type Node struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       NodeSpec   `json:"spec"`
	Status     NodeStatus `json:"status,omitzero"`
}

// NodeSpec is the desired state of a Node.
type NodeSpec struct {
	BGP                 *NodeBGPSpec `json:"bgp,omitempty"`
	IPv4VXLANTunnelAddr string       `json:"ipv4VXLANTunnelAddr,omitempty"`
	VXLANTunnelMACAddr  string       `json:"vxlanTunnelMACAddr,omitempty"`
	OrchRefs            []OrchRef    `json:"orchRefs,omitempty"`
}

// NodeBGPSpec is a Node's BGP identity.
type NodeBGPSpec struct {
	IPv4Address             string    `json:"ipv4Address,omitempty"` // CIDR form, e.g. 10.0.0.1/24
	IPv6Address             string    `json:"ipv6Address,omitempty"`
	ASNumber                *ASNumber `json:"asNumber,omitempty"`
	RouteReflectorClusterID string    `json:"routeReflectorClusterID,omitempty"`
	IPv4IPIPTunnelAddr      string    `json:"ipv4IPIPTunnelAddr,omitempty"`
}

// OrchRef names the orchestrator that knows this node.
type OrchRef struct {
	Orchestrator string `json:"orchestrator"`
	NodeName     string `json:"nodeName,omitempty"`
}

// NodeStatus is what the daemon reports about itself.
type NodeStatus struct {
	Version      string `json:"version,omitempty"`
	LastStarted  string `json:"lastStarted,omitempty"`
	DataplaneMsg string `json:"dataplane,omitempty"`
}

// NewNode returns an empty Node named name.
func NewNode(name string) *Node {
	return &Node{TypeMeta: typeMeta(KindNode), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (n *Node) Default() {}

// Validate implements Resource.
func (n *Node) Validate() error {
	v := newValidator(n)
	v.name("metadata.name", n.Name, false)
	v.labels("metadata.labels", n.Labels)
	if b := n.Spec.BGP; b != nil {
		v.hostCIDR("spec.bgp.ipv4Address", b.IPv4Address, true)
		v.hostCIDR("spec.bgp.ipv6Address", b.IPv6Address, false)
		v.asNumber("spec.bgp.asNumber", b.ASNumber)
		if id := b.RouteReflectorClusterID; id != "" {
			if a, err := netip.ParseAddr(id); err != nil || !a.Is4() {
				v.add("spec.bgp.routeReflectorClusterID", id, "must be an IPv4-style cluster ID such as 224.0.0.1")
			}
		}
	}
	return v.err()
}

func (v *validator) hostCIDR(field, s string, want4 bool) {
	if s == "" {
		return
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, err2 := netip.ParseAddr(s)
		if err2 != nil {
			v.add(field, s, "is not an address: give one such as 10.0.0.1/24")
			return
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4() != want4 {
		v.add(field, s, "is of the wrong address family")
	}
}
