// Package routing makes workloads on different hosts reach each other by
// their own addresses: it announces this host's IPAM blocks over BGP,
// installs the routes other hosts announce, and programs VXLAN (and IPIP,
// where the kernel has it) for pools that ask for encapsulation.
//
// # Data flow
//
//	datastore.Sync (Node, BGPPeer, BGPConfiguration, IPPool) ─┐
//	etcd watch of IPAM blocks ─> ipam.Allocator.Blocks ───────┤
//	                                                          v
//	                               cluster model (plain data, pure functions)
//	                                   │                    │
//	         peers, exports, identity  v                    v  routes, VXLAN, tunl0
//	                            routing/bgp.Speaker    routing/dataplane.Dataplane
//	                            (owns one GoBGP)       (owns the kernel side)
//	                                   │   learned routes   ^
//	                                   └────────────────────┘
//
// The Router's loop is the only writer of desired state: every datastore
// event, IPAM change or BGP change wakes it (coalesced), it recomputes the
// whole desired state from the model and hands it over; the speaker and
// the dataplane each converge on it from their own goroutine.
//
// # What is announced and installed
//
//   - Peers (peers.go): the node-to-node mesh unless BGPConfiguration
//     "default" turns it off, global BGPPeers, BGPPeers for this node
//     (spec.node, spec.nodeSelector), peerSelector peerings in both
//     directions; a node with spec.bgp.routeReflectorClusterID reflects
//     for its non-mesh iBGP peers. AS: the Node's, else the default
//     BGPConfiguration's, else 64512. Port: BGPConfiguration listenPort
//     (node.<name> over default), default 179.
//   - Exports: this node's affine blocks as aggregates, and /32s of the
//     addresses it borrowed from other nodes' blocks.
//   - Routes: each learned route via its next hop, through tunl0 when its
//     pool's ipipMode asks for it (Always, or CrossSubnet and the next hop
//     is off our subnet) and the kernel has IPIP. Destinations in pools
//     with a vxlanMode come from the datastore instead (IPAM blocks and
//     the Nodes' published VTEPs), so VXLAN works without BGP: via
//     vxlan.calico to the node's tunnel address, or straight to the node
//     for CrossSubnet pools when it shares our subnet. Our own blocks are
//     never routed here (felix blackholes them).
//
// Routes carry rtnetlink protocol 81 (dataplane.DefaultRouteProtocol).
//
// # Restarts
//
// Sessions negotiate graceful restart; a stopping Router closes them
// without a NOTIFICATION, so peers keep this node's routes while it
// restarts, and removes the routes it installed. At start, routes of ours
// already in the kernel (left by a crash) are kept until every peer has
// sent End-of-RIB, or for Config.RestartHold at most, then the unwanted
// ones go. Nothing is announced or programmed before the datastore and
// IPAM have been read once.
//
// # Tunnel addresses
//
// While a VXLAN (IPIP) pool exists, the node holds a tunnel address from
// it, allocated through IPAM with handle vxlan-tunnel-addr-<node>
// (ipip-tunnel-addr-<node>) and published on its Node with a VTEP MAC; it
// is released when no such pool is left.
package routing
