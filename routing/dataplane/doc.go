// Package dataplane programs what routing needs of the kernel: routes to
// other hosts' workloads, the VXLAN device vxlan.calico with its FDB and
// neighbour entries, and the IPIP device tunl0. It knows nothing of BGP
// or etcd: package routing computes the desired state and hands it over
// with Set.
//
// # Invariants
//
//   - Desired versus actual. One goroutine (Run) owns the kernel side: every
//     apply reads back our routes, the devices, FDB and neighbour entries,
//     and writes only the difference. A full resync runs at start, every
//     Config.ResyncInterval, when a route of ours is deleted behind our back
//     (netlink route watch) and after a failure (with backoff).
//   - Ownership by protocol. Our routes carry Config.RouteProtocol
//     (DefaultRouteProtocol = 81: not in /etc/iproute2/rt_protos, not
//     felix's 80, not BIRD's 12), in the main table. A route of ours that is
//     not desired is deleted, except while Desired.KeepStale is set (a
//     restart, until BGP has re-learned everything). A route of another
//     protocol is never replaced: a desired route whose destination is taken
//     (felix's blackhole of a local block, a static route) is reported, not
//     forced.
//   - Devices are ours by name: vxlan.calico is created, corrected or
//     re-created to match, and deleted when VXLAN is not desired; its FDB
//     and permanent ARP entries are exactly the desired VTEPs. tunl0 is the
//     kernel's IPIP fallback device: it is configured (address, MTU, up)
//     while IPIP is desired and left alone otherwise.
//   - Run removes our routes when it stops: routes learned from peers must
//     not outlive the process that keeps them correct.
//
// IPIP needs the kernel's ipip support (CONFIG_NET_IPIP). When it is
// missing, Status says so and routes that want IPIP are not programmed;
// the error names the missing support.
package dataplane
