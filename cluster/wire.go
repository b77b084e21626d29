package cluster

// JoinPath is the join endpoint's one route.
const JoinPath = "/v1/join"

// Role is what a joined host becomes.
type Role string

const (
	RoleMember Role = "member" // runs an etcd member (a voter)
	RoleClient Role = "client" // uses the members' etcd
)

// JoinRequest is what a new host sends (JSON, POST JoinPath).
type JoinRequest struct {
	TokenID    string `json:"tokenID"`
	Secret     string `json:"secret"`
	Name       string `json:"name"`    // the host's node name: its etcd member name and certificate CN
	Address    string `json:"address"` // the IP the members reach it at
	PeerPort   int    `json:"peerPort"`
	ClientPort int    `json:"clientPort"`
}

// JoinResponse is the member's answer.
type JoinResponse struct {
	Role   Role   `json:"role"`
	CACert []byte `json:"caCert"`
	CAKey  []byte `json:"caKey,omitempty"` // members only: they serve joins too
	Cert   []byte `json:"cert"`
	Key    []byte `json:"key"`
	// MemberID and InitialCluster (name=peerURL,...) start a member.
	MemberID       uint64 `json:"memberID,omitempty"`
	InitialCluster string `json:"initialCluster,omitempty"`
	// Endpoints are the members' client URLs.
	Endpoints []string `json:"endpoints"`
}

// errorBody is every refusal's body.
type errorBody struct {
	Error string `json:"error"`
}
