package resources

import "net/netip"

// Kinds of the BGP resources.
const (
	KindBGPPeer          = "BGPPeer"
	KindBGPConfiguration = "BGPConfiguration"
)

// DefaultASNumber is Calico's default AS.
const DefaultASNumber uint32 = 64512

// BGPPeer is a BGP peering for one node (spec.node), a set of nodes
// (spec.nodeSelector) or every node (neither).
type BGPPeer struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       BGPPeerSpec `json:"spec"`
}

// BGPPeerSpec is the desired state of a BGPPeer.
type BGPPeerSpec struct {
	Node         string `json:"node,omitempty"`
	NodeSelector string `json:"nodeSelector,omitempty"`
	PeerIP       string `json:"peerIP,omitempty"`
	PeerSelector string `json:"peerSelector,omitempty"`
	ASNumber     uint32 `json:"asNumber,omitempty"`
}

// NewBGPPeer returns an empty BGPPeer named name.
func NewBGPPeer(name string) *BGPPeer {
	return &BGPPeer{TypeMeta: typeMeta(KindBGPPeer), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (p *BGPPeer) Default() {}

// Validate implements Resource.
func (p *BGPPeer) Validate() error {
	v := newValidator(p)
	v.name("metadata.name", p.Name, false)
	if p.Spec.Node != "" && p.Spec.NodeSelector != "" {
		v.add("spec.nodeSelector", p.Spec.NodeSelector, "cannot be set together with spec.node: choose one")
	}
	v.selector("spec.nodeSelector", p.Spec.NodeSelector)
	v.selector("spec.peerSelector", p.Spec.PeerSelector)
	switch {
	case p.Spec.PeerIP == "" && p.Spec.PeerSelector == "":
		v.add("spec.peerIP", nil, "is required unless spec.peerSelector is set")
	case p.Spec.PeerIP != "" && p.Spec.PeerSelector != "":
		v.add("spec.peerSelector", p.Spec.PeerSelector, "cannot be set together with spec.peerIP: choose one")
	case p.Spec.PeerIP != "":
		if _, err := netip.ParseAddrPort(p.Spec.PeerIP); err != nil {
			if _, err := netip.ParseAddr(p.Spec.PeerIP); err != nil {
				v.add("spec.peerIP", p.Spec.PeerIP, "is not an IP address (optionally with :port)")
			}
		}
		if p.Spec.ASNumber == 0 {
			v.add("spec.asNumber", nil, "is required with spec.peerIP: the peer's AS number")
		}
	}
	return v.err()
}

// BGPConfiguration holds cluster-wide (name "default") or per-node
// (name "node.<nodename>") BGP settings.
type BGPConfiguration struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       BGPConfigurationSpec `json:"spec"`
}

// BGPConfigurationSpec is the desired state of a BGPConfiguration.
type BGPConfigurationSpec struct {
	LogSeverityScreen     string  `json:"logSeverityScreen,omitempty"`
	NodeToNodeMeshEnabled *bool   `json:"nodeToNodeMeshEnabled,omitempty"`
	ASNumber              *uint32 `json:"asNumber,omitempty"`
	ListenPort            uint16  `json:"listenPort,omitempty"`
}

// NewBGPConfiguration returns an empty BGPConfiguration named name.
func NewBGPConfiguration(name string) *BGPConfiguration {
	return &BGPConfiguration{TypeMeta: typeMeta(KindBGPConfiguration), ObjectMeta: ObjectMeta{Name: name}}
}

// Default implements Resource.
func (c *BGPConfiguration) Default() {}

// Validate implements Resource.
func (c *BGPConfiguration) Validate() error {
	v := newValidator(c)
	v.name("metadata.name", c.Name, false)
	if c.Spec.LogSeverityScreen != "" {
		v.oneOf("spec.logSeverityScreen", c.Spec.LogSeverityScreen, "Debug", "Info", "Warning", "Error", "Fatal")
	}
	v.asNumber("spec.asNumber", c.Spec.ASNumber)
	return v.err()
}

// MeshEnabled reports nodeToNodeMeshEnabled with its default (true).
func (c *BGPConfiguration) MeshEnabled() bool {
	return c == nil || c.Spec.NodeToNodeMeshEnabled == nil || *c.Spec.NodeToNodeMeshEnabled
}
