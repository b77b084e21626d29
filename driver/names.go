package driver

import (
	"crypto/sha256"
	"fmt"
	"net"
	"regexp"
	"strings"
)

// Names derived from a Docker endpoint ID. They are pure functions of the
// ID (and node), so every handler finds the same objects without a lookup.
const (
	// HostIfacePrefix starts the host side of every workload veth, as in
	// Calico; felix recognises workload interfaces by it.
	HostIfacePrefix = "cali"
	// tmpIfacePrefix names the container side until Docker moves it into
	// the sandbox and renames it DstPrefix+N (cali0, cali1, ...).
	tmpIfacePrefix = "tmp"
	// idChars is how much of the endpoint ID goes into interface names:
	// "cali" + 11 = 15 characters, the kernel's limit.
	idChars = 11
	// handlePrefix starts the IPAM handle of an endpoint's addresses.
	handlePrefix = "libnetwork."
)

// endpointIDPattern is what Docker sends: 64 lower-case hex digits. Shorter
// IDs (used by other engines and by tests) are accepted down to idChars.
var endpointIDPattern = regexp.MustCompile(`^[0-9a-f]{11,64}$`)

// checkID checks a request's ID field (NetworkID, EndpointID).
func checkID(field, id string) error {
	if id == "" {
		return fmt.Errorf("%s is missing: the request must name the object by its Docker ID (64 lower-case hex digits)", field)
	}
	if !endpointIDPattern.MatchString(id) {
		return fmt.Errorf("%s %q is not a Docker ID (11 to 64 lower-case hex digits)", field, id)
	}
	return nil
}

// HostIface is the host-side interface of an endpoint.
func HostIface(endpointID string) string { return HostIfacePrefix + short(endpointID) }

// tmpIface is the container side's name before Docker renames it.
func tmpIface(endpointID string) string { return tmpIfacePrefix + short(endpointID) }

func short(id string) string { return id[:min(idChars, len(id))] }

// WorkloadEndpointName is the name of an endpoint's WorkloadEndpoint:
// "<node>-libnetwork-libnetwork-<endpointID>" (node, orchestrator,
// workload, endpoint, as Calico composes them).
func WorkloadEndpointName(node, endpointID string) string {
	return strings.ToLower(node) + "-libnetwork-libnetwork-" + endpointID
}

// Handle is the IPAM handle an endpoint's addresses are recorded against.
func Handle(endpointID string) string { return handlePrefix + endpointID }

// macFor derives a stable, locally administered unicast MAC from the
// endpoint ID, for endpoints Docker gave no MAC: a retried CreateEndpoint
// answers the same MAC, and two endpoints practically never share one.
func macFor(endpointID string) net.HardwareAddr {
	sum := sha256.Sum256([]byte(endpointID))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&0xfe | 0x02 // unicast, locally administered
	return mac
}
