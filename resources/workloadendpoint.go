package resources

import (
	"net"
	"net/netip"
)

// KindWorkloadEndpoint is the Kind of WorkloadEndpoint.
const KindWorkloadEndpoint = "WorkloadEndpoint"

// OrchestratorLibnetwork is the orchestrator of endpoints made by Docker.
const OrchestratorLibnetwork = "libnetwork"

// Identity labels Calico sets on every endpoint.
const (
	LabelOrchestrator = "projectcalico.org/orchestrator"
	LabelNetwork      = "projectcalico.org/network"
	LabelProfile      = "projectcalico.org/profile"
)

// AnnotationLabelsPending marks an endpoint whose container labels have
// not been read yet: the dataplane drops its traffic until it is removed,
// so policy meant for the container is never bypassed.
const AnnotationLabelsPending = "libnetwork.projectcalico.org/labels-pending"

// WorkloadEndpoint is one interface of one container.
type WorkloadEndpoint struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       WorkloadEndpointSpec `json:"spec"`
}

// WorkloadEndpointSpec is the desired state of a WorkloadEndpoint.
type WorkloadEndpointSpec struct {
	Orchestrator  string   `json:"orchestrator,omitempty"`
	Workload      string   `json:"workload,omitempty"` // container name once known
	Node          string   `json:"node"`
	ContainerID   string   `json:"containerID,omitempty"`
	Endpoint      string   `json:"endpoint,omitempty"` // Docker endpoint ID
	Network       string   `json:"network,omitempty"`  // Docker network ID
	IPNetworks    []string `json:"ipNetworks,omitempty"`
	IPv4Gateway   string   `json:"ipv4Gateway,omitempty"`
	IPv6Gateway   string   `json:"ipv6Gateway,omitempty"`
	Profiles      []string `json:"profiles,omitempty"`
	InterfaceName string   `json:"interfaceName"`
	MAC           string   `json:"mac,omitempty"`
}

// NewWorkloadEndpoint returns an empty WorkloadEndpoint in the default namespace.
func NewWorkloadEndpoint(name string) *WorkloadEndpoint {
	return &WorkloadEndpoint{TypeMeta: typeMeta(KindWorkloadEndpoint), ObjectMeta: ObjectMeta{Name: name, Namespace: DefaultNamespace}}
}

// Default implements Resource.
func (w *WorkloadEndpoint) Default() {
	if w.Namespace == "" {
		w.Namespace = DefaultNamespace
	}
	if w.Spec.Orchestrator == "" {
		w.Spec.Orchestrator = OrchestratorLibnetwork
	}
}

// Validate implements Resource.
func (w *WorkloadEndpoint) Validate() error {
	v := newValidator(w)
	v.name("metadata.name", w.Name, false)
	v.namespace(w.Namespace)
	v.labels("metadata.labels", w.Labels)
	if w.Spec.Node == "" {
		v.add("spec.node", nil, "is required: the node (host) the endpoint lives on")
	}
	if w.Spec.InterfaceName == "" || len(w.Spec.InterfaceName) > 15 {
		v.add("spec.interfaceName", w.Spec.InterfaceName, "must be a Linux interface name of 1 to 15 characters")
	}
	for i, n := range w.Spec.IPNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil || p.Bits() != p.Addr().BitLen() {
			v.add(fieldIdx("spec.ipNetworks", i), n, "must be a single address with /32 (IPv4) or /128 (IPv6)")
		}
	}
	if w.Spec.MAC != "" {
		if _, err := net.ParseMAC(w.Spec.MAC); err != nil {
			v.add("spec.mac", w.Spec.MAC, "is not a MAC address: use the form ee:ee:ee:ee:ee:ee")
		}
	}
	for i, p := range w.Spec.Profiles {
		v.name(fieldIdx("spec.profiles", i), p, true)
	}
	return v.err()
}

// Addrs returns the endpoint's addresses as prefixes, skipping bad ones.
func (w *WorkloadEndpoint) Addrs() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(w.Spec.IPNetworks))
	for _, n := range w.Spec.IPNetworks {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p)
		}
	}
	return out
}
