// Package routes programs what routing across hosts needs of the kernel:
// routes to other hosts' workloads (learned by BGP or derived from the
// datastore), the VXLAN device vxlan.calico with its FDB and neighbour
// entries, and the IPIP device tunl0. It knows nothing of BGP or etcd:
// package routing computes a Desired state and hands it to felix's
// Dataplane (SetRoutes), whose one loop calls Manager.Apply. The package
// has no goroutine of its own.
//
// It moved here from routing/dataplane, which ran its own loop: the kernel
// has one owner (felix's dataplane loop), and keeping this code beside the
// other felix managers says so; routing keeps only the computation and
// imports this package for the Desired type.
//
// # Invariants
//
//   - Desired versus actual. Every Apply reads back our routes, the
//     devices, FDB and neighbour entries, and writes only the difference.
//     The owner applies at start, on its resync timer, when a route of ours
//     is deleted behind its back (netlink route watch), when routing hands
//     over a new state and after a failure (with backoff).
//   - Ownership by protocol. Our routes carry Config.RouteProtocol
//     (DefaultRouteProtocol = 81: not in /etc/iproute2/rt_protos, not
//     felix's 80 of workload routes and blackholes, not BIRD's 12), in the
//     main table. A route of ours that is not desired is deleted, except
//     while Desired.KeepStale is set (a restart, until BGP has re-learned
//     everything). A route of another protocol is never replaced: a desired
//     route whose destination is taken (felix's blackhole of a local block,
//     a static route) is reported, not forced.
//   - Devices are ours by name: vxlan.calico is created, corrected or
//     re-created to match, and deleted when VXLAN is not desired; its FDB
//     and permanent ARP entries are exactly the desired VTEPs. tunl0 is the
//     kernel's IPIP fallback device: it is configured (address, MTU, up)
//     while IPIP is desired and left alone otherwise.
//   - RemoveOurRoutes, called by the owner when it stops, deletes our
//     routes: routes learned from peers must not outlive the process that
//     keeps them correct.
//
// IPIP needs the kernel's ipip support (CONFIG_NET_IPIP). When it is
// missing, Status says so and routes that want IPIP are not programmed;
// the error names the missing support.
package routes
