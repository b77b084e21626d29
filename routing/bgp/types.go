package bgp

import (
	"fmt"
	"net/netip"
	"time"
)

// DefaultPort is BGP's TCP port.
const DefaultPort = 179

// Global is the speaker's identity.
type Global struct {
	ASN uint32
	// RouterID is the node's BGP IPv4 address: the router ID, the address
	// the speaker listens on and the source of every session.
	RouterID netip.Addr
	// IPv6 is the node's BGP IPv6 address, if it has one: the speaker
	// listens on it too and sources the sessions to IPv6 peers from it,
	// which carry IPv6 unicast routes with it as next hop.
	IPv6 netip.Addr
	// ListenPort is the TCP port to accept sessions on; 0 means 179 and -1
	// means do not listen (only connect out).
	ListenPort int
}

// PeerType says where a peering comes from, as `calicoctl node status`
// shows it.
type PeerType string

// Peer types.
const (
	PeerMesh   PeerType = "mesh"   // node-to-node mesh
	PeerGlobal PeerType = "global" // a BGPPeer for every node
	PeerNode   PeerType = "node"   // a BGPPeer for this node (node, nodeSelector or peerSelector)
)

// Peer is one BGP session to configure.
type Peer struct {
	Address netip.Addr
	Port    int // 0: 179
	ASN     uint32
	Type    PeerType
	// Name says which object asked for the peer (a node or a BGPPeer).
	Name string
	// RRClient makes this speaker a route reflector for the peer, in
	// cluster ClusterID.
	RRClient  bool
	ClusterID string
	// Multihop allows an eBGP session to a peer more than one hop away.
	Multihop bool
	// Passive waits for the peer to connect. Between two speakers of this
	// kind exactly one side must be passive (the one with the higher
	// address): GoBGP refuses connections for 5s after a session ends, and
	// two active sides can keep refusing each other's attempts for ever.
	Passive bool
	// Password authenticates the session with TCP MD5 (RFC 2385); empty:
	// none. It is never logged.
	Password string
}

func (p Peer) key() netip.Addr { return p.Address }

func (p Peer) String() string {
	return fmt.Sprintf("%s %s (AS %d, %s)", p.Type, p.Address, p.ASN, p.Name)
}

// Desired is the whole configuration the speaker converges on. A nil
// Global means no BGP: the server is stopped.
type Desired struct {
	Global *Global
	Peers  []Peer
	// Exports are announced with this node as next hop: IPv4 prefixes to
	// IPv4 peers, IPv6 prefixes (only with Global.IPv6) to IPv6 peers.
	Exports []netip.Prefix
	// Policies are the import and export filters of peers, by address
	// (BGPFilter, keepOriginalNextHop); a peer without one exchanges every
	// route.
	Policies map[netip.Addr]PeerPolicy
}

// Route is the best path to a prefix learned from a peer.
type Route struct {
	Prefix  netip.Prefix
	NextHop netip.Addr
	Peer    netip.Addr // the neighbor it came from
	Stale   bool       // kept for a restarting peer (graceful restart)
	// Priority is the kernel metric for the route (a BGPFilter import
	// rule's setPriority); 0: the kernel's default.
	Priority int
}

// PeerStatus is the state of one configured session.
type PeerStatus struct {
	Peer
	State string    // Idle, Connect, Active, OpenSent, OpenConfirm, Established
	Since time.Time // when State was entered (zero: never left Idle)
	Info  string    // the last error or reason, if any
	// EndOfRIB is true once the peer sent all its routes in this session.
	EndOfRIB bool
}

// Status is a snapshot of the speaker.
type Status struct {
	Running   bool
	Global    Global
	Peers     []PeerStatus
	Exported  int
	Learned   int
	LastError string
}
