package datastore

// Key spaces outside the resources (see DESIGN.md for the whole layout).
// Only this package reads or writes etcd; packages with their own stored
// encodings build their keys under these prefixes and go through Commit.
const (
	// IPAMPrefix holds Calico's IPAM state (package ipam).
	IPAMPrefix = Prefix + "/ipam/v2/"
	// BlockPrefix holds the allocation blocks: assignment/<ipv4|ipv6>/block/<cidr>.
	BlockPrefix = IPAMPrefix + "assignment/"
	// AffinityPrefix holds block affinities: host/<node>/<ipv4|ipv6>/block/<cidr>.
	AffinityPrefix = IPAMPrefix + "host/"
	// HandlePrefix holds the addresses of each handle: handle/<handle>/<ip>.
	HandlePrefix = IPAMPrefix + "handle/"
	// LibnetworkPrefix holds the Docker driver's own records.
	LibnetworkPrefix = Prefix + "/libnetwork/v1/"
)
