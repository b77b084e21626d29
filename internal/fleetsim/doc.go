// Package fleetsim simulates the rest of a Calico fleet in etcd: N other
// hosts' state written in Calico's v3 layout through package datastore,
// and churned at a given rate, so one real daemon on this machine can be
// measured as if it ran in a fleet of N+1 hosts.
//
// Per simulated host it writes what a real host would have stored:
//
//   - a Node resource (no BGP spec, no tunnel address: see Safety);
//   - one or more IPAM blocks with affinity to the node, in ipam's stored
//     format (block record, affinity key, one handle key per address),
//     written through datastore.Commit, one transaction per block;
//   - EndpointsPerHost WorkloadEndpoints as the driver writes them
//     (driver.WorkloadEndpointName, driver.Handle, driver.HostIface),
//     labelled fleet-app=app-<k%Apps> and fleet-tier=tier-<k%Tiers>.
//
// Once per fleet: an IP pool for the simulated blocks (disabled, so the
// real host never allocates from it), a Profile the endpoints refer to,
// and Config.Policies NetworkPolicies: policy i selects fleet-tier=='tier-<i%Tiers>'
// and allows ingress from fleet-app=='app-<i%Apps>'. A real host whose
// containers carry a fleet-tier label therefore holds IP sets of remote
// endpoints.
//
// Churn replays container restarts on random simulated hosts at a given
// rate: a change deletes one endpoint or re-creates it with a new
// fleet-app label (so it also moves between selector sets).
//
// # Safety: simulated hosts are never contacted
//
// The simulated hosts do not exist, and nothing this package writes gives
// the real daemon an address to reach them at:
//
//   - Nodes carry no spec.bgp (no IPv4/IPv6 address) and no VXLAN/IPIP
//     tunnel address or MAC, so neither the BGP mesh, nor a BGPPeer
//     peerSelector, nor the VXLAN/IPIP tunnel code has an address to dial
//     or an FDB entry to write; routing skips nodes without an address.
//   - The fleet's pool has ipipMode and vxlanMode Never.
//   - Config.DisableMesh (the benchmarks set it) also stores the default
//     BGPConfiguration with nodeToNodeMeshEnabled false, a second guard.
//   - Workload addresses come from Config.PoolCIDR, by default
//     198.18.0.0/15 (RFC 2544's benchmarking range, never routed on the
//     Internet). With no BGP session nothing is learned, so the real host
//     gets no route into it; the benchmarks check that no route into the
//     pool appears. The addresses only ever land in IP sets.
package fleetsim
