package resources

import "net/netip"

// Kinds of the BGP resources.
const (
	KindBGPPeer          = "BGPPeer"
	KindBGPConfiguration = "BGPConfiguration"
)

// DefaultASNumber is Calico's default AS.
const DefaultASNumber ASNumber = 64512

// BGPPeer is a BGP peering for one node (spec.node), a set of nodes
// (spec.nodeSelector) or every node (neither).
type BGPPeer struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Spec       BGPPeerSpec `json:"spec"`
}

// BGPPeerSpec is the desired state of a BGPPeer.
type BGPPeerSpec struct {
	Node         string   `json:"node,omitempty"`
	NodeSelector string   `json:"nodeSelector,omitempty"`
	PeerIP       string   `json:"peerIP,omitempty"`
	PeerSelector string   `json:"peerSelector,omitempty"`
	ASNumber     ASNumber `json:"asNumber,omitempty"`
	// LocalASNumber overrides the node's AS number for this peering.
	LocalASNumber *ASNumber `json:"localASNumber,omitempty"`
	// Password authenticates the session (TCP MD5). On Docker the secret
	// is read from a file, see BGPPassword.
	Password *BGPPassword `json:"password,omitempty"`
	// KeepOriginalNextHop keeps the next hop of routes sent to this peer.
	KeepOriginalNextHop bool `json:"keepOriginalNextHop,omitempty"`
	// NextHopMode: Auto (default), Self or Keep.
	NextHopMode string `json:"nextHopMode,omitempty"`
	// SourceAddress: UseNodeIP (default) or None.
	SourceAddress string `json:"sourceAddress,omitempty"`
	// Filters name the BGPFilters applied to this peer, in order.
	Filters                  []string  `json:"filters,omitempty"`
	MaxRestartTime           *Duration `json:"maxRestartTime,omitempty"`
	KeepaliveTime            *Duration `json:"keepaliveTime,omitempty"`
	NumAllowedLocalASNumbers *int      `json:"numAllowedLocalASNumbers,omitempty"`
	TTLSecurity              *int      `json:"ttlSecurity,omitempty"`
	ReachableBy              string    `json:"reachableBy,omitempty"`
	LocalWorkloadSelector    string    `json:"localWorkloadSelector,omitempty"`
	ReversePeering           string    `json:"reversePeering,omitempty"`
}

// BGPPassword is where a peer's password comes from. Calico names a
// Kubernetes Secret; on Docker the same name and key name a file,
// <secrets dir>/<name>/<key>, on each host.
type BGPPassword struct {
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
}

// SecretKeyRef names a secret and the key within it.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
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
	p.Spec.validateExtras(v)
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
	LogSeverityScreen     string    `json:"logSeverityScreen,omitempty"`
	NodeToNodeMeshEnabled *bool     `json:"nodeToNodeMeshEnabled,omitempty"`
	ASNumber              *ASNumber `json:"asNumber,omitempty"`
	ListenPort            uint16    `json:"listenPort,omitempty"`
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

func (s *BGPPeerSpec) validateExtras(v *validator) {
	if pw := s.Password; pw != nil {
		switch ref := pw.SecretKeyRef; {
		case ref == nil:
			v.add("spec.password.secretKeyRef", nil, "is required with spec.password: name the secret and key holding the password")
		default:
			v.name("spec.password.secretKeyRef.name", ref.Name, true)
			v.name("spec.password.secretKeyRef.key", ref.Key, true)
		}
	}
	v.optOneOf("spec.nextHopMode", s.NextHopMode, "Auto", "Self", "Keep")
	if s.KeepOriginalNextHop && s.NextHopMode != "" && s.NextHopMode != "Keep" {
		v.add("spec.keepOriginalNextHop", true, "contradicts spec.nextHopMode %s: remove one of them", s.NextHopMode)
	}
	v.optOneOf("spec.sourceAddress", s.SourceAddress, "UseNodeIP", "None")
	v.optOneOf("spec.reversePeering", s.ReversePeering, "Auto", "Manual")
	for i, f := range s.Filters {
		v.name(fieldIdx("spec.filters", i), f, false)
	}
	v.intRange("spec.numAllowedLocalASNumbers", s.NumAllowedLocalASNumbers, 1, 10)
	v.intRange("spec.ttlSecurity", s.TTLSecurity, 0, 255)
	v.asNumber("spec.localASNumber", s.LocalASNumber)
	if s.ReachableBy != "" {
		if _, err := netip.ParseAddr(s.ReachableBy); err != nil {
			v.add("spec.reachableBy", s.ReachableBy, "is not an IP address: give the gateway through which the peer is reached")
		}
	}
	v.selector("spec.localWorkloadSelector", s.LocalWorkloadSelector)
}
