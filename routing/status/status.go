// Package status is the JSON document the daemon serves about routing on
// its local status endpoint, and a client for it (what `calicoctl node
// status` reads). It has no dependencies beyond the standard library, so
// the CLI can import it without the BGP speaker.
//
// The endpoint is HTTP over the unix socket <data_dir>/status.sock
// (DefaultSocket with the default data_dir); GET /status answers a Status
// as JSON, for example:
//
//	{
//	  "node": "host1",
//	  "time": "2025-01-02T15:04:05Z",
//	  "backend": "bird",
//	  "bgp": {
//	    "running": true, "asNumber": 64512, "routerID": "10.99.0.1",
//	    "ipv4Address": "10.99.0.1/24", "listenPort": 179,
//	    "exported": 2, "learned": 4,
//	    "peers": [
//	      {"peerIP": "10.99.0.2", "asNumber": 64512, "type": "mesh", "name": "host2",
//	       "state": "Established", "since": "2025-01-02T15:00:00Z", "info": ""}
//	    ]
//	  },
//	  "routes": {"inSync": true, "programmed": 4, "protocol": 81},
//	  "encapsulation": {
//	    "vxlan": {"enabled": false, "device": "vxlan.calico", "vni": 4096, "port": 4789, "mtu": 1450},
//	    "ipip": {"enabled": false, "available": false, "reason": "the kernel has no IPIP support ...",
//	             "device": "tunl0", "mtu": 1480}
//	  }
//	}
//
// Peer "type" is "mesh" (node-to-node mesh), "global" (a BGPPeer for every
// node) or "node" (a BGPPeer for this node: spec.node, spec.nodeSelector
// or a peerSelector). calicoctl shows them as BIRD-era Calico did:
// "node-to-node mesh", "global", "node specific" (see PeerTypeDisplay).
// "state" is the BGP FSM state: Idle, Connect, Active, OpenSent,
// OpenConfirm or Established; "since" is when it was entered.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DefaultSocket is the status socket with the default data_dir.
const DefaultSocket = "/var/lib/calico/status.sock"

// SocketName is the status socket's file name in the data dir.
const SocketName = "status.sock"

// Path is the HTTP path of the status document.
const Path = "/status"

// Status is the routing status of one node.
type Status struct {
	Node          string        `json:"node"`
	Time          time.Time     `json:"time"`
	Backend       string        `json:"backend"` // bird (BGP), vxlan (no BGP) or none
	BGP           *BGP          `json:"bgp,omitempty"`
	Routes        Routes        `json:"routes"`
	Encapsulation Encapsulation `json:"encapsulation"`
}

// BGP is the speaker's state.
type BGP struct {
	Running     bool   `json:"running"`
	ASNumber    uint32 `json:"asNumber,omitempty"`
	RouterID    string `json:"routerID,omitempty"`
	IPv4Address string `json:"ipv4Address,omitempty"`
	ListenPort  int    `json:"listenPort,omitempty"`
	Exported    int    `json:"exported"`
	Learned     int    `json:"learned"`
	Peers       []Peer `json:"peers"`
	LastError   string `json:"lastError,omitempty"`
}

// Peer is one BGP session.
type Peer struct {
	PeerIP               string     `json:"peerIP"`
	Port                 int        `json:"port,omitempty"` // omitted: 179
	ASNumber             uint32     `json:"asNumber"`
	Type                 string     `json:"type"` // mesh, global, node
	Name                 string     `json:"name"` // the node or BGPPeer it comes from
	RouteReflectorClient bool       `json:"routeReflectorClient,omitempty"`
	State                string     `json:"state"`
	Since                *time.Time `json:"since,omitempty"`
	Info                 string     `json:"info,omitempty"`
}

// Routes is the state of the routes routing programs.
type Routes struct {
	InSync       bool     `json:"inSync"`
	Programmed   int      `json:"programmed"`
	Protocol     int      `json:"protocol"` // rtnetlink protocol of our routes
	KeepingStale bool     `json:"keepingStale,omitempty"`
	Conflicts    []string `json:"conflicts,omitempty"`
	LastError    string   `json:"lastError,omitempty"`
}

// Encapsulation is the state of the tunnel devices.
type Encapsulation struct {
	VXLAN VXLAN `json:"vxlan"`
	IPIP  IPIP  `json:"ipip"`
}

// VXLAN is vxlan.calico's state.
type VXLAN struct {
	Enabled       bool   `json:"enabled"`
	Device        string `json:"device"`
	VNI           int    `json:"vni"`
	Port          int    `json:"port"`
	MTU           int    `json:"mtu"`
	TunnelAddress string `json:"tunnelAddress,omitempty"`
	MAC           string `json:"mac,omitempty"`
	Peers         int    `json:"peers"`
}

// IPIP is tunl0's state.
type IPIP struct {
	Enabled       bool   `json:"enabled"`   // some pool uses IPIP
	Available     bool   `json:"available"` // the kernel supports it
	Reason        string `json:"reason,omitempty"`
	Device        string `json:"device"`
	MTU           int    `json:"mtu"`
	TunnelAddress string `json:"tunnelAddress,omitempty"`
}

// PeerTypeDisplay is how `calicoctl node status` names a peer type.
func PeerTypeDisplay(t string) string {
	switch t {
	case "mesh":
		return "node-to-node mesh"
	case "global":
		return "global"
	case "node":
		return "node specific"
	}
	return t
}

// Fetch reads the status from the daemon's socket.
func Fetch(ctx context.Context, socket string) (*Status, error) {
	c := http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://calico"+Path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calico-libnetwork is not running or not answering on %s: %w", socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status endpoint %s answered %s", socket, resp.Status)
	}
	var st Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("status endpoint %s: %w", socket, err)
	}
	return &st, nil
}

// Handler serves get() as the status document.
func Handler(get func() Status) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(get())
	})
	return mux
}
