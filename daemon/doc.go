// Package daemon wires calico-libnetwork together: configuration (flags,
// environment, optional YAML file, through viper; see Settings), etcd
// (ETCD_ENDPOINTS, or an embedded single-node etcd under <data_dir>/etcd),
// the IPAM allocator, the Node resource, the felix dataplane with the
// watcher that feeds it, and the two plugin sockets.
//
// Start-up order: load and validate config -> etcd -> default IP pool ->
// register/refresh the Node -> start felix in policy mode, primed with
// this node's affine blocks (it programs nothing until the watcher's first
// full sync event, so a restart never cuts running workloads off) -> watch
// WorkloadEndpoints, Profiles, NetworkPolicies, GlobalNetworkPolicies,
// Tiers and network sets into felix (calc.Kinds) -> IPAM garbage collector (ipamgc.go) -> driver
// (resyncs source routing of multi-network containers and resumes reading
// the labels of endpoints still pending) -> serve <plugin_dir>/calico.sock
// and calico-ipam.sock (a stale socket from a crash is replaced; a live
// one is an error).
//
// Shut-down (SIGINT/SIGTERM): close and remove the sockets, stop the
// driver's background work, stop felix without undoing anything (workloads
// keep their veths and routes; the next start resyncs), close etcd.
// Nothing but etcd holds state, so a restart loses nothing.
package daemon
