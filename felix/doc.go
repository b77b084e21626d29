// Package felix is the kernel side of Calico networking for Docker: it
// creates workload veths and programs, for every local workload endpoint, the
// routes, sysctls, neighbour entries and iptables rules that connect it.
//
// # Data flow
//
//	driver (Join/Leave) ──► CreateVeth / DeleteVeth          (synchronous)
//	driver (Join/Leave) ──► SetSourceRoute / RemoveSourceRoute (sandboxes.go)
//	cache.Subscribe     ──► Dataplane.OnSyncEvent            (policy mode)
//	watcher (cache)     ──► Dataplane.OnEndpointUpdate / OnEndpointRemove /
//	                        SetLocalBlocks                  (record intent, kick)
//	routing             ──► SetRoutes (tunnels.go), SetNATPools (natpools.go)
//	Dataplane goroutine ──► read kernel back ─► diff ─► apply minimal delta
//
// Nothing here knows Docker or etcd.
//
// # One dataplane owner
//
// The Dataplane's loop is the only writer of kernel state (apart from the
// veth a Join creates synchronously). Each apply runs the managers in turn:
// endpoints (interfaces, sysctls, workload routes of Config.RouteProtocol,
// neighbours), filter IP sets and iptables, then what other components
// hand over as desired state — routing's routes, VXLAN device, FDB and
// tunl0 (felix/routes, routes of Config.TunnelRouteProtocol), natOutgoing
// (felix/nat, the nat table and pool sets) and the source rules and routes
// inside multi-network sandboxes (sandboxes.go). A full resync also
// reaps stray workload veths: pairs made ahead of a Join that never came,
// both ends still on the host, owned by no endpoint of this node for
// Config.StrayVethGrace (strays.go). Each runs when its input
// changed, after its own failure, and at every full resync, which reads it
// back from the kernel and repairs it.
//
// # Policy mode
//
// With Config.NodeName set, the Dataplane is fed the datastore's sync
// events of calc.Kinds (WorkloadEndpoints, Profiles, NetworkPolicies,
// GlobalNetworkPolicies, Tiers, HostEndpoints, GlobalNetworkSets,
// NetworkSets) through OnSyncEvent, and the loop goroutine keeps
// the policy model (package felix/policy): this node's WorkloadEndpoints
// are programmed as OnEndpointUpdate would, and with Config.Policy their
// Calico policy replaces BaseFilterState: chains rendered by felix/rules
// (see its package doc for the layout), IP sets per selector, anti-spoofing
// (source MAC and addresses, on top of strict rp_filter), the host
// protected from its workloads unless Config.EndpointToHostAccept, and
// this node's HostEndpoints protected as Calico does (hosttables.go: the
// raw and mangle tables too; failsafe ports from Config.HostEndpoints). Nothing
// is programmed before the first full sync event, so a restart never acts
// on a partial model. Each apply programs IP sets before iptables (a rule
// may only name an existing set) and destroys stale sets after it (a set in
// use cannot go). With Policy, Start refuses loose reverse-path filtering
// (net.ipv4.conf.all.rp_filter=2), which would let workloads spoof
// addresses, unless Config.IgnoreLooseRPF. Status reports the render time
// and the latency from OnSyncEvent to the change being programmed.
//
// # Goals and invariants
//
//   - Desired versus actual. The Dataplane keeps the desired state (endpoints,
//     local IPAM blocks) apart from the kernel's and converges them: every
//     apply dumps what the kernel has (permanent neighbours on workload
//     interfaces, our iptables chains) and writes only the difference.
//     Interfaces and routes are the exception: between full resyncs the
//     last link dump is kept and only the interfaces the kernel watcher saw
//     change, and the endpoints' interfaces it lacks, are looked up
//     (linkcache.go); our routes are those the last sync left, except on
//     those interfaces (IPv4 drops a device's routes silently when it goes
//     down or away), and are dumped again when the watcher sees one deleted
//     behind our back (routes.go). A full resync (links dumped, sysctls re-read
//     from that dump: linkdump.go; iptables and IP sets re-read) runs at
//     start, every Config.ResyncInterval, on Kick and after any failure; a
//     failed apply is retried with exponential backoff. An apply between
//     resyncs does only what changed: the endpoint side
//     (links, routes, neighbours) only when endpoints, blocks or workload
//     interfaces changed, IP sets only when their content changed, and
//     iptables as a delta from the last successful apply (reading back
//     thousands of policy rules would dominate a policy change's latency).
//   - One owner. Only the goroutine started by Start touches the kernel
//     (Start itself probes IPIP support before it starts the goroutine).
//     Update methods take a lock, record intent and send on a kick channel of
//     buffer 1 without blocking, so bursts coalesce into one apply. A change
//     recorded while an apply runs (changes coming faster than they are
//     applied: a fleet's endpoint churn) makes the next apply wait 100 ms
//     after this one ends and take everything recorded meanwhile; a change
//     on a quiet loop, or from a writer that waits for each change to be
//     programmed, is applied at once. The kernel watcher (monitor.go) kicks
//     the loop when a workload interface comes, goes, is renamed or set up
//     or down (not when its carrier changes: a container starting) and
//     when a route still wanted is deleted; the routes an apply deletes itself (an endpoint
//     gone, a route routing withdrew) wake nothing.
//   - Ownership by tag. Routes we own carry Config.RouteProtocol (default
//     DefaultRouteProtocol = 80, unused by known routing daemons); routes of
//     that protocol in the main table that are not desired are deleted, so no
//     other component may use that protocol number. iptables rules we own
//     carry a "cali:<hash>" comment and chains we own start with "cali-";
//     nothing else is modified (see package felix/iptables).
//   - Idempotent steps. CreateVeth can run twice and rolls back a half-made
//     pair; every reconcile step tolerates state that is already right.
//
// # What is programmed
//
// For each endpoint whose host-side interface exists: the interface is up;
// IPv4 sysctls proxy_arp=1, neigh proxy_delay=0, forwarding=1, rp_filter=1
// (strict, anti-spoofing), IPv6 accept_ra=0 and, with Config.EnableIPv6,
// proxy_ndp=1, forwarding=1, disable_ipv6=0 (the set Calico felix applies,
// minus route_localnet which only serves felix's NAT-to-host); a route
// "<addr>/32 dev <iface> scope link proto 80" per IPv4 address (/128 per
// IPv6 address); a permanent ARP entry per IPv4 address when the endpoint's
// MAC is known (as felix does, sparing the host an ARP exchange). For each
// local IPAM block: "blackhole <block> proto 80", so addresses of the block
// that are not assigned here never leave the host. Globally:
// net.ipv4.ip_forward=1 (and net.ipv6.conf.all.forwarding=1 with IPv6). In
// the filter table (and ip6tables with IPv6): chain cali-FORWARD accepting
// traffic from and to workload interfaces, jumped to from the top of
// FORWARD, because Docker sets the FORWARD policy to DROP (BaseFilterState).
// Policy replaces that state wholesale per IP version with SetFilterState;
// the same diff-by-hash machinery (package felix/iptables) programs it.
//
// Status reports the last apply's duration and error, the number of routes
// programmed and the iptables backend in use. Package felix/ns runs all of
// this inside Config.NetNS, so tests and multi-host test beds can run one
// Dataplane per namespace.
//
// # Workload side (done by Docker with the driver's Join answer)
//
// IPv4: the workload has its address as /32 and "default via 169.254.1.1"
// with an on-link route to 169.254.1.1. Nothing owns 169.254.1.1: the host
// answers the workload's ARP for it by proxy ARP, which the kernel only does
// when the host has a route to 169.254.1.1 through another interface — in
// practice its default route. A host without a default route needs one (the
// tests give their "host" namespace one via a dummy interface).
//
// IPv6: as in Calico, the gateway is IPv6Gateway, fe80::ecee:eeff:feee:eeee,
// the EUI-64 link-local address of HostSideMAC. Rather than rely on the
// kernel's address generation mode and carrier timing, the Dataplane adds
// that address (nodad) to the host side of every IPv6 endpoint, so no proxy
// neighbour entry is needed: the host owns the gateway address outright.
package felix
