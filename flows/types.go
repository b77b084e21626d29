package flows

import (
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// AnnotationAPI on a Node is the URL of its daemon's flows API (its
// metrics_addr): `calicoctl flows --node` reads it.
const AnnotationAPI = "projectcalico.org/flows-api"

// Flow is one aggregated row: connections of one interval with the same
// source, destination, protocol, destination port, action and deciding
// rule, as reported by one side (the API's Flow).
type Flow struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Node     string    `json:"node"`
	Reporter string    `json:"reporter"` // src (egress policy decided) or dst (ingress)
	Src      Endpoint  `json:"src"`
	Dst      Endpoint  `json:"dst"`
	Proto    string    `json:"proto"`
	DstPort  uint16    `json:"dstPort"`
	Action   string    `json:"action"` // allow or deny
	Policy   PolicyRef `json:"policy"`
	Staged   []Staged  `json:"staged"`
	Packets  uint64    `json:"packets"`
	Bytes    uint64    `json:"bytes"`
	Flows    uint64    `json:"flows"` // connections aggregated in this row
}

// Endpoint is one end of a flow.
type Endpoint struct {
	Kind      string            `json:"kind"` // wep, hep, netset, host or net
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Network   string            `json:"network"`
	Node      string            `json:"node"`
	IP        string            `json:"ip"`
	Labels    map[string]string `json:"labels"`
}

// PolicyRef names the rule that decided a flow in one direction.
type PolicyRef struct {
	Tier      string `json:"tier"`
	Kind      string `json:"kind"` // GlobalNetworkPolicy, NetworkPolicy, Profile or ""
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Rule      int    `json:"rule"` // -1 when no rule decided
	Direction string `json:"direction"`
	Trigger   string `json:"trigger"` // rule, end-of-tier or default-deny
}

// Staged is a staged policy's would-be verdict on a flow.
type Staged struct {
	Tier      string `json:"tier"`
	Kind      string `json:"kind"` // StagedNetworkPolicy or StagedGlobalNetworkPolicy
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Rule      int    `json:"rule"`
	Direction string `json:"direction"`
	Action    string `json:"action"` // allow, deny or pass
}

// ProtoName is the API's name of an IP protocol number: Calico's name in
// lower case (tcp, udp, icmp, icmpv6, sctp, udplite), else the number.
func ProtoName(p uint8) string { return strings.ToLower(resources.ProtocolFromNumber(p).String()) }
