package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DataplaneStatus is the dataplane's state as metrics see it (the daemon
// fills it from felix.Dataplane.Status).
type DataplaneStatus struct {
	InSync             bool
	Applies, Failures  uint64
	LastApplyDuration  time.Duration
	LastRenderDuration time.Duration
	Endpoints, Routes  int
	// UpdateLatencyCount/Sum summarise the time from a datastore change
	// to its programming.
	UpdateLatencyCount uint64
	UpdateLatencySum   time.Duration
}

// PoolUsage is one IP pool's usage.
type PoolUsage struct {
	Name, CIDR    string
	Addresses     float64 // addresses in the pool (a float: IPv6 pools are huge)
	Allocated     int     // allocated addresses, all nodes
	Blocks        int     // blocks claimed, all nodes
	NodeBlocks    int     // blocks affine to this node
	NodeAllocated int     // allocated addresses in this node's blocks
}

// ResourceCounts counts the Calico resources that drive this node.
type ResourceCounts struct {
	WorkloadEndpoints     int // in the cluster
	NodeWorkloadEndpoints int // on this node
	NetworkPolicies       int
	GlobalNetworkPolicies int
	Profiles              int
}

// BGPPeer is one BGP session as the routing component reports it.
type BGPPeer struct {
	Peer  string // peer address
	Type  string // mesh, global or node (a BGPPeer for this node)
	State string // Idle, Connect, Active, OpenSent, OpenConfirm, Established
}

// RoutingStatus is the routing component's state: the BGP speaker (when
// the backend runs one) and the routes it programs.
type RoutingStatus struct {
	BGPRunning       bool
	Peers            []BGPPeer
	Learned          int // routes learned over BGP
	Exported         int // routes this node advertises
	RoutesProgrammed int // routes routing keeps in the kernel
	RoutesInSync     bool
}

// BGPStates are the BGP finite-state-machine states reported as
// bgp_peer_state; a peer in another state gets that state as well.
var BGPStates = []string{"Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"}

type sources struct {
	dataplane func() DataplaneStatus
	ipam      func(context.Context) ([]PoolUsage, error)
	resources func(context.Context) (ResourceCounts, error)
	routing   func(context.Context) (RoutingStatus, error)
}

// SetDataplaneSource registers the dataplane's status function.
func (m *Metrics) SetDataplaneSource(fn func() DataplaneStatus) {
	m.setSource(func(s *sources) { s.dataplane = fn })
}

// SetIPAMSource registers the function listing pool usage.
func (m *Metrics) SetIPAMSource(fn func(context.Context) ([]PoolUsage, error)) {
	m.setSource(func(s *sources) { s.ipam = fn })
}

// SetResourceSource registers the function counting resources.
func (m *Metrics) SetResourceSource(fn func(context.Context) (ResourceCounts, error)) {
	m.setSource(func(s *sources) { s.resources = fn })
}

// SetRoutingSource registers the routing status function (BGP sessions
// and routes); nil unregisters.
func (m *Metrics) SetRoutingSource(fn func(context.Context) (RoutingStatus, error)) {
	m.setSource(func(s *sources) { s.routing = fn })
}

func (m *Metrics) setSource(f func(*sources)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(&m.sources)
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

var (
	descSourceUp = desc("metrics_source_up", "1 if the source answered this scrape, else 0.", "source")

	descInSync      = desc("dataplane_in_sync", "1 if the dataplane has programmed everything it was given.")
	descApplies     = desc("dataplane_applies_total", "Dataplane applies attempted.")
	descApplyFails  = desc("dataplane_apply_failures_total", "Dataplane applies that failed.")
	descApplyDur    = desc("dataplane_last_apply_duration_seconds", "Duration of the last dataplane apply.")
	descRenderDur   = desc("dataplane_last_render_duration_seconds", "Duration of the last policy render.")
	descUpdateLat   = desc("dataplane_update_latency_seconds", "Time from a datastore change to the dataplane programming it.")
	descDPEndpoints = desc("dataplane_endpoints", "Local workload endpoints the dataplane programs.")
	descDPRoutes    = desc("dataplane_routes", "Workload routes in the kernel after the last apply.")
	descPoolAddrs   = desc("ipam_pool_addresses", "Addresses in the IP pool.", "pool", "cidr")
	descPoolAlloc   = desc("ipam_pool_allocated_addresses", "Allocated addresses in the IP pool, all nodes.", "pool", "cidr")
	descPoolBlocks  = desc("ipam_pool_blocks", "Blocks of the IP pool claimed by any node.", "pool", "cidr")
	descNodeBlocks  = desc("ipam_node_blocks", "Blocks of the IP pool affine to this node.", "pool", "cidr")
	descNodeAlloc   = desc("ipam_node_allocated_addresses", "Allocated addresses in this node's blocks of the pool.", "pool", "cidr")
	descWEPs        = desc("workload_endpoints", "Workload endpoints, on this node or in the cluster.", "scope")
	descPolicies    = desc("network_policies", "NetworkPolicy resources.")
	descGPolicies   = desc("global_network_policies", "GlobalNetworkPolicy resources.")
	descProfiles    = desc("profiles", "Profile resources.")
	descBGPState    = desc("bgp_peer_state", "1 for the BGP session's current state, 0 for the other states.", "peer", "type", "state")
	descBGPUp       = desc("bgp_peer_up", "1 if the BGP session is Established.", "peer", "type")
	descBGPRunning  = desc("bgp_running", "1 if the BGP speaker runs.")
	descBGPRoutes   = desc("bgp_routes", "Routes learned from BGP peers or exported to them.", "direction")
	descRoutingProg = desc("routing_routes", "Routes the routing component keeps in the kernel.")
	descRoutingSync = desc("routing_in_sync", "1 if the kernel holds the routes routing wants.")
)

// sourceCollector reads the registered sources at scrape time.
type sourceCollector struct{ m *Metrics }

func (c *sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSourceUp, descInSync, descApplies, descApplyFails, descApplyDur,
		descRenderDur, descUpdateLat, descDPEndpoints, descDPRoutes, descPoolAddrs, descPoolAlloc, descPoolBlocks,
		descNodeBlocks, descNodeAlloc, descWEPs, descPolicies, descGPolicies, descProfiles, descBGPState,
		descBGPUp, descBGPRunning, descBGPRoutes, descRoutingProg, descRoutingSync} {
		ch <- d
	}
}

func (c *sourceCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	s := c.m.sources
	c.m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), SourceTimeout)
	defer cancel()
	if s.dataplane != nil {
		collectDataplane(ch, s.dataplane())
	}
	if s.ipam != nil {
		pools, err := s.ipam(ctx)
		up(ch, "ipam", err)
		if err == nil {
			collectPools(ch, pools)
		}
	}
	if s.resources != nil {
		counts, err := s.resources(ctx)
		up(ch, "resources", err)
		if err == nil {
			collectCounts(ch, counts)
		}
	}
	if s.routing != nil {
		st, err := s.routing(ctx)
		up(ch, "routing", err)
		if err == nil {
			collectRouting(ch, st)
		}
	}
}

func up(ch chan<- prometheus.Metric, source string, err error) {
	v := 1.0
	if err != nil {
		v = 0
	}
	ch <- prometheus.MustNewConstMetric(descSourceUp, prometheus.GaugeValue, v, source)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func collectDataplane(ch chan<- prometheus.Metric, st DataplaneStatus) {
	gauge(ch, descInSync, boolFloat(st.InSync))
	ch <- prometheus.MustNewConstMetric(descApplies, prometheus.CounterValue, float64(st.Applies))
	ch <- prometheus.MustNewConstMetric(descApplyFails, prometheus.CounterValue, float64(st.Failures))
	gauge(ch, descApplyDur, st.LastApplyDuration.Seconds())
	gauge(ch, descRenderDur, st.LastRenderDuration.Seconds())
	ch <- prometheus.MustNewConstSummary(descUpdateLat, st.UpdateLatencyCount, st.UpdateLatencySum.Seconds(), nil)
	gauge(ch, descDPEndpoints, float64(st.Endpoints))
	gauge(ch, descDPRoutes, float64(st.Routes))
}

func collectPools(ch chan<- prometheus.Metric, pools []PoolUsage) {
	for _, p := range pools {
		gauge(ch, descPoolAddrs, p.Addresses, p.Name, p.CIDR)
		gauge(ch, descPoolAlloc, float64(p.Allocated), p.Name, p.CIDR)
		gauge(ch, descPoolBlocks, float64(p.Blocks), p.Name, p.CIDR)
		gauge(ch, descNodeBlocks, float64(p.NodeBlocks), p.Name, p.CIDR)
		gauge(ch, descNodeAlloc, float64(p.NodeAllocated), p.Name, p.CIDR)
	}
}

func collectCounts(ch chan<- prometheus.Metric, c ResourceCounts) {
	gauge(ch, descWEPs, float64(c.NodeWorkloadEndpoints), "node")
	gauge(ch, descWEPs, float64(c.WorkloadEndpoints), "cluster")
	gauge(ch, descPolicies, float64(c.NetworkPolicies))
	gauge(ch, descGPolicies, float64(c.GlobalNetworkPolicies))
	gauge(ch, descProfiles, float64(c.Profiles))
}

func collectRouting(ch chan<- prometheus.Metric, st RoutingStatus) {
	gauge(ch, descBGPRunning, boolFloat(st.BGPRunning))
	gauge(ch, descBGPRoutes, float64(st.Learned), "learned")
	gauge(ch, descBGPRoutes, float64(st.Exported), "exported")
	gauge(ch, descRoutingProg, float64(st.RoutesProgrammed))
	gauge(ch, descRoutingSync, boolFloat(st.RoutesInSync))
	for _, p := range st.Peers {
		known := false
		for _, s := range BGPStates {
			known = known || s == p.State
			gauge(ch, descBGPState, boolFloat(s == p.State), p.Peer, p.Type, s)
		}
		if !known && p.State != "" {
			gauge(ch, descBGPState, 1, p.Peer, p.Type, p.State)
		}
		gauge(ch, descBGPUp, boolFloat(p.State == "Established"), p.Peer, p.Type)
	}
}
