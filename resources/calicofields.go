package resources

import (
	"regexp"
	"strings"
)

// Real fields of Calico's v3 API that this project's types do not have.
// A document setting one is refused, but not as a typo: the message says
// the field is Calico's, why it is not taken here and what to do instead.
// (Fields with a Docker meaning are in the types; those Calico has but
// that cannot apply on Docker inside kept types are refused by Validate,
// see notOnDocker.)

const (
	onDocker    = "is a Calico field that does not apply on Docker: it "
	notHere     = "is a Calico field this project does not implement: "
	removeIt    = "remove it"
	servicesWhy = onDocker + "advertises Kubernetes Service addresses, which do not exist on Docker; " +
		"containers' addresses are advertised from their IP pools: " + removeIt
)

var calicoFields = map[string]string{
	"BGPConfiguration spec.serviceClusterIPs":          servicesWhy,
	"BGPConfiguration spec.serviceExternalIPs":         servicesWhy,
	"BGPConfiguration spec.serviceLoadBalancerIPs":     servicesWhy,
	"BGPConfiguration spec.communities":                notHere + "BGP communities are not attached to advertised routes; " + removeIt,
	"BGPConfiguration spec.prefixAdvertisements":       notHere + "BGP communities are not attached to advertised routes; " + removeIt,
	"BGPConfiguration spec.nodeMeshPassword":           notHere + "the node-to-node mesh has no password; set spec.password on BGPPeers, or " + removeIt,
	"BGPConfiguration spec.nodeMeshMaxRestartTime":     notHere + removeIt,
	"BGPConfiguration spec.bindMode":                   notHere + "BGP listens on every address; " + removeIt,
	"BGPConfiguration spec.ignoredInterfaces":          notHere + removeIt,
	"BGPConfiguration spec.localWorkloadPeeringIPV4":   notHere + "containers do not peer BGP with their host; " + removeIt,
	"BGPConfiguration spec.localWorkloadPeeringIPV6":   notHere + "containers do not peer BGP with their host; " + removeIt,
	"WorkloadEndpoint spec.pod":                        onDocker + "names a Kubernetes pod; a container is spec.workload and spec.endpoint: " + removeIt,
	"WorkloadEndpoint spec.serviceAccountName":         onDocker + "names a Kubernetes service account, which Docker containers do not have; label the container instead: " + removeIt,
	"WorkloadEndpoint spec.allowSpoofedSourcePrefixes": notHere + "a container may send only from its own addresses; " + removeIt,
	"WorkloadEndpoint spec.qosControls":                notHere + "bandwidth limits are not programmed; " + removeIt,
	"Node spec.wireguard":                              notHere + "the daemon does not run WireGuard (encapsulate with an IP pool's ipipMode or vxlanMode); " + removeIt,
	"Node spec.addresses":                              notHere + "a node's address is spec.bgp.ipv4Address and ipv6Address; " + removeIt,
	"Node spec.interfaces":                             notHere + removeIt,
	"IPPool spec.ipip":                                 "is the deprecated v1 form of IPIP: use spec.ipipMode (Always, CrossSubnet or Never)",
	"IPPool spec.nat-outgoing":                         "is the deprecated v1 form of NAT: use spec.natOutgoing (true or false)",
}

var listIndex = regexp.MustCompile(`\[\d+\]`)

// calicoFieldNote returns what to say about field path of kind when it is
// a real Calico field this project's type lacks, or "".
func calicoFieldNote(kind, path string) string {
	return calicoFields[kind+" "+listIndex.ReplaceAllString(strings.TrimSpace(path), "")]
}
