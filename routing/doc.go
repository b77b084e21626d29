// Package routing makes workloads on different hosts reach each other by
// their own addresses: it announces this host's IPAM blocks over BGP,
// installs the routes other hosts announce, and programs VXLAN (and IPIP,
// where the kernel has it) for pools that ask for encapsulation.
//
// # Data flow
//
//	cache subscription (Node, BGPPeer, BGPConfiguration,    ─┐
//	IPPool, IPAM blocks; one Full event, then changes)      │
//	                                                          v
//	                               cluster model (plain data, pure functions)
//	                                   │                    │
//	         peers, exports, identity  v                    v  routes, VXLAN, tunl0
//	                            routing/bgp.Speaker    Config.Dataplane.SetRoutes
//	                            (owns one GoBGP)       (felix: the one owner of
//	                                   │               the kernel, felix/routes)
//	                                   │   learned routes   ^
//	                                   └────────────────────┘
//
// The Router's loop is the only writer of desired state: a change of an
// input of the plan wakes it (coalesced): a cache event of the resources
// above, an IPAM block added, removed or changed in its affinity or the
// addresses other nodes borrowed from it (not a container of the block's
// own node coming or going), a BGP change, new tunnel settings. It then
// recomputes the whole desired state from the model and hands it over; the
// speaker converges on it from its own goroutine, and felix's dataplane
// loop programs the kernel side (routing never writes the kernel: it
// declares the small Dataplane interface it needs, and felix implements
// it). With no input change it plans again every Config.Resync (30 s, the
// safety net; password files, which send no event, are re-read then), and
// every second while the plan waits on time (the restart hold, a tunnel
// address to allocate, a password file that cannot be read). The IP pools
// also go to Config.OnPools, which the daemon wires to felix's
// natOutgoing.
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
//   - IPv6: a node with an IPv6 BGP address (Node spec.bgp.ipv6Address,
//     from IP6 / IP6_AUTODETECTION_METHOD) also listens on it, and every
//     node-to-node peering gets a second session between the two nodes'
//     IPv6 addresses when both have one; BGPPeers with an IPv6 peerIP
//     peer from it. IPv4 sessions carry IPv4 unicast, IPv6 sessions IPv6
//     unicast. BGP still needs the IPv4 address (the router ID).
//   - Exports: this node's affine blocks as aggregates, and /32s (/128s) of
//     the addresses it borrowed from other nodes' blocks; IPv6 ones only
//     when the node has an IPv6 address.
//   - Routes: each learned route via its next hop, through tunl0 when its
//     pool's ipipMode asks for it (Always, or CrossSubnet and the next hop
//     is off our subnet) and the kernel has IPIP. Destinations in pools
//     with a vxlanMode come from the datastore instead (IPAM blocks and
//     the Nodes' published VTEPs), so VXLAN works without BGP: via
//     vxlan.calico to the node's tunnel address, or straight to the node
//     for CrossSubnet pools when it shares our subnet. Our own blocks are
//     never routed here (felix blackholes them). IPv6 routes always go
//     straight to their IPv6 next hop (no IPv6 encapsulation).
//
// Routes of both families carry rtnetlink protocol 81
// (routes.DefaultRouteProtocol).
//
// # Log level
//
// BGPConfiguration spec.logSeverityScreen (node.<name> over default)
// sets, as it changes, the level of every log of routing, GoBGP's
// included: Debug (GoBGP's debug messages too), Info, Warning, Error,
// Fatal (nothing short of fatal). Unset, the process's level applies.
//
// # Restarts
//
// Sessions negotiate graceful restart; a stopping Router closes them
// without a NOTIFICATION, so peers keep this node's routes while it
// restarts, and felix removes the routes it installed for routing when its
// loop stops. At start, routes of ours
// already in the kernel (left by a crash) are kept until every peer has
// sent End-of-RIB, or for Config.RestartHold at most, then the unwanted
// ones go. Nothing is announced or programmed before the cache's first
// Full event (the datastore and IPAM read once).
//
// # Tunnel addresses
//
// While a VXLAN (IPIP) pool exists, the node holds a tunnel address from
// it, allocated through IPAM with handle vxlan-tunnel-addr-<node>
// (ipip-tunnel-addr-<node>) and published on its Node with a VTEP MAC; it
// is released when no such pool is left.
package routing
