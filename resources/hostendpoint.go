package resources

import "net/netip"

// KindHostEndpoint is the Kind of HostEndpoint.
const KindHostEndpoint = "HostEndpoint"

// HostEndpointAllInterfaces is the interfaceName of a host endpoint that
// stands for every interface of its node.
const HostEndpointAllInterfaces = "*"

// HostEndpoint is one interface of a host (or all of them, "*") that
// policy protects. Traffic to and from it is denied unless policy or its
// profiles allow it, except the failsafe ports of FelixConfiguration.
type HostEndpoint struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       HostEndpointSpec `json:"spec"`
}

// HostEndpointSpec is the desired state of a HostEndpoint.
type HostEndpointSpec struct {
	Node          string         `json:"node,omitempty"`
	InterfaceName string         `json:"interfaceName,omitempty"`
	ExpectedIPs   []string       `json:"expectedIPs,omitempty"`
	Profiles      []string       `json:"profiles,omitempty"`
	Ports         []EndpointPort `json:"ports,omitempty"`
}

// EndpointPort is a named port an endpoint exposes.
type EndpointPort struct {
	Name     string   `json:"name"`
	Protocol Protocol `json:"protocol"`
	Port     uint16   `json:"port"`
}

// NewHostEndpoint returns an empty HostEndpoint named name.
func NewHostEndpoint(name string) *HostEndpoint {
	return &HostEndpoint{TypeMeta: typeMeta(KindHostEndpoint), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (h *HostEndpoint) Default() {}

// Validate implements Resource.
func (h *HostEndpoint) Validate() error {
	v := newValidator(h)
	v.name("metadata.name", h.Name, false)
	v.labels("metadata.labels", h.Labels)
	if h.Spec.Node == "" {
		v.add("spec.node", nil, "is required: the name of the node (host) that owns the interface")
	}
	switch iface := h.Spec.InterfaceName; {
	case iface == "" && len(h.Spec.ExpectedIPs) == 0:
		v.add("spec.interfaceName", nil, "is required unless spec.expectedIPs is set: give an interface name such as eth0, or * for every interface")
	case iface != "" && iface != HostEndpointAllInterfaces && !validIfaceName(iface):
		v.add("spec.interfaceName", iface, "must be * or a Linux interface name of 1 to 15 characters without '/', ':' or spaces")
	}
	for i, ip := range h.Spec.ExpectedIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			v.add(fieldIdx("spec.expectedIPs", i), ip, "is not an IP address: give one such as 192.168.0.1 (no prefix length)")
		}
	}
	for i, p := range h.Spec.Profiles {
		v.name(fieldIdx("spec.profiles", i), p, true)
	}
	v.endpointPorts("spec.ports", h.Spec.Ports)
	return v.err()
}

func (v *validator) endpointPorts(field string, ports []EndpointPort) {
	seen := map[string]bool{}
	for i, p := range ports {
		f := fieldIdx(field, i)
		v.name(f+".name", p.Name, false)
		if seen[p.Name] {
			v.add(f+".name", p.Name, "is used twice: give each port its own name")
		}
		seen[p.Name] = true
		if !p.Protocol.HasPorts() {
			v.add(f+".protocol", p.Protocol.String(), "must be TCP, UDP or SCTP")
		}
		if p.Port == 0 {
			v.add(f+".port", nil, "is required: a port number 1-65535")
		}
	}
}

func validIfaceName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if c == '/' || c == ':' || c == ' ' || c == '\t' || c == '\n' || c == 0 {
			return false
		}
	}
	return true
}
