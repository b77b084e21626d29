// Package metrics exposes the daemon's Prometheus metrics and its health
// endpoints over HTTP (setting metrics_addr; off by default, conventionally
// localhost:9091):
//
//	/metrics  Prometheus text format
//	/healthz  liveness: 200 while the process serves and its live checks
//	          pass (the dataplane goroutine is running)
//	/readyz   readiness: 200 when every ready check passes within
//	          CheckTimeout (the datastore answers a linearizable read, the
//	          dataplane has synced and its last apply succeeded); else 503
//	          with one line per failing check. ?verbose lists every check.
//
// Metrics come two ways. Events are counted as they happen: plugin
// requests (Metrics.Plugin, an http.Handler middleware around the Docker
// driver handlers) and etcd requests (Metrics.EtcdDialOptions, gRPC client
// interceptors). State is read at scrape time from sources the daemon
// registers (SetDataplaneSource, SetIPAMSource, SetResourceSource,
// SetRoutingSource); a source that fails reports calico_metrics_source_up 0
// and its metrics are left out of that scrape. Other packages may add
// their own collectors through Registerer.
//
// The package knows nothing of felix, ipam or routing: sources are plain
// functions returning this package's types, adapted in package daemon.
//
// Metrics (all prefixed calico_):
//
//	plugin_requests_total{driver,method,result}      counter; result ok|error
//	plugin_request_duration_seconds{driver,method}   histogram
//	plugin_requests_in_flight                        gauge
//	datastore_request_duration_seconds{op}           histogram of etcd RPCs (op e.g. KV.Range)
//	datastore_errors_total{op,code}                  counter of failed etcd RPCs (gRPC code)
//	ipam_pool_addresses{pool,cidr}                   gauge: addresses in the pool
//	ipam_pool_allocated_addresses{pool,cidr}         gauge: allocated, all nodes
//	ipam_pool_blocks{pool,cidr}                      gauge: blocks claimed, all nodes
//	ipam_node_blocks{pool,cidr}                      gauge: blocks affine to this node
//	ipam_node_allocated_addresses{pool,cidr}         gauge: allocated in this node's blocks
//	dataplane_in_sync                                gauge 0|1
//	dataplane_applies_total                          counter
//	dataplane_apply_failures_total                   counter
//	dataplane_last_apply_duration_seconds            gauge
//	dataplane_last_render_duration_seconds           gauge (policy rendering)
//	dataplane_update_latency_seconds                 summary (count, sum): datastore change to kernel
//	dataplane_endpoints                              gauge: local endpoints programmed
//	dataplane_routes                                 gauge: workload routes in the kernel
//	workload_endpoints{scope}                        gauge; scope node|cluster
//	network_policies, global_network_policies, profiles   gauges
//	bgp_running                                      gauge 0|1
//	bgp_peer_state{peer,type,state}                  gauge 1 for the peer's current state, 0 for the others
//	bgp_peer_up{peer,type}                           gauge 0|1 (Established)
//	bgp_routes{direction}                            gauge; direction learned|exported
//	routing_routes, routing_in_sync                  gauges: routes routing keeps in the kernel
//	metrics_source_up{source}                        gauge 0|1: the source answered this scrape
//
// plus the Go runtime and process collectors (go_*, process_*).
package metrics
