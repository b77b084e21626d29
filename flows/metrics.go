package flows

import (
	"maps"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the flow-log counters: packets and bytes per deciding
// policy rule, denied packets per destination (ingress) or source
// (egress) endpoint, and rows dropped to stay in bounds. Series of a
// deleted policy or profile, or of rules it no longer has, go with it,
// and those of a deleted endpoint with the last endpoint of its name
// (series.go).
type Metrics struct {
	policyPackets, policyBytes *prometheus.CounterVec
	endpointDenied             *prometheus.CounterVec
	dropped                    prometheus.Counter

	mu        sync.Mutex // guards series and endpoints, and orders record against pruning
	series    map[policyKey]map[seriesLabels]bool
	endpoints map[endpointName]bool // of the endpoint series recorded
}

// NewMetrics registers the flow-log counters with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	policyLabels := []string{"tier", "kind", "namespace", "name", "rule", "direction", "action"}
	m := &Metrics{
		policyPackets: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "calico", Subsystem: "flow",
			Name: "policy_packets_total", Help: "Packets of flows decided by a policy or profile rule (or end of tier, default drop)."}, policyLabels),
		policyBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "calico", Subsystem: "flow",
			Name: "policy_bytes_total", Help: "Bytes of flows decided by a policy or profile rule (or end of tier, default drop)."}, policyLabels),
		endpointDenied: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "calico", Subsystem: "flow",
			Name: "endpoint_denied_packets_total", Help: "Packets denied by the policy of a local workload endpoint."},
			[]string{"namespace", "endpoint", "direction"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "calico", Subsystem: "flow",
			Name: "dropped_total", Help: "Flow rows or connections not kept to stay inside flow_logs_max."}),
		series: map[policyKey]map[seriesLabels]bool{}, endpoints: map[endpointName]bool{},
	}
	reg.MustRegister(m.policyPackets, m.policyBytes, m.endpointDenied, m.dropped)
	return m
}

// record adds a closed interval's rows; d (may be nil: all live) says
// whether a series still names a rule or an endpoint. A row whose rule or
// endpoint is gone counts in no series of it.
func (m *Metrics) record(rows []Flow, dropped uint64, d *Directory) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropped.Add(float64(dropped))
	for i := range rows {
		r := &rows[i]
		p := r.Policy
		labels := seriesLabels{p.Tier, p.Kind, p.Namespace, p.Name, strconv.Itoa(p.Rule), p.Direction, r.Action}
		if m.track(p, labels, d) {
			m.policyPackets.WithLabelValues(labels[:]...).Add(float64(r.Packets))
			m.policyBytes.WithLabelValues(labels[:]...).Add(float64(r.Bytes))
		}
		if r.Action != "deny" {
			continue
		}
		ep := r.Dst
		if r.Reporter == "src" {
			ep = r.Src
		}
		if ep.Kind == "wep" && (d == nil || d.liveEndpoint(ep)) {
			m.endpoints[endpointName{ep.Namespace, ep.Name}] = true
			m.endpointDenied.WithLabelValues(ep.Namespace, ep.Name, p.Direction).Add(float64(r.Packets))
		}
	}
}

// track notes the series of a row that names a policy or profile rule; it
// reports false when that rule is gone (live); m.mu is held.
func (m *Metrics) track(p PolicyRef, l seriesLabels, d *Directory) bool {
	if !rulesSeries(p) {
		return true
	}
	if d != nil && !d.liveSeries(l) {
		return false
	}
	set := m.series[l.key()]
	if set == nil {
		set = map[seriesLabels]bool{}
		m.series[l.key()] = set
	}
	set[l] = true
	return true
}

// prune deletes the policy series that name no live rule any more.
func (m *Metrics) prune(d *Directory) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, set := range m.series {
		for l := range set {
			if d.liveSeries(l) {
				continue
			}
			m.policyPackets.DeleteLabelValues(l[:]...)
			m.policyBytes.DeleteLabelValues(l[:]...)
			delete(set, l)
		}
		if len(set) == 0 {
			delete(m.series, k)
		}
	}
}

// forgetEndpoints deletes the denied series of endpoint names no endpoint
// bears any more (gone: names whose endpoints were deleted; nil: check
// every name recorded).
func (m *Metrics) forgetEndpoints(gone []endpointName, d *Directory) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if gone == nil {
		gone = slices.Collect(maps.Keys(m.endpoints))
	}
	for _, n := range gone {
		if !m.endpoints[n] || d.endpointNamed(n) {
			continue
		}
		m.endpointDenied.DeletePartialMatch(prometheus.Labels{"namespace": n.namespace, "endpoint": n.name})
		delete(m.endpoints, n)
	}
}
