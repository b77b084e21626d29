package flows

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the flow-log counters: packets and bytes per deciding
// policy rule, denied packets per destination (ingress) or source
// (egress) endpoint, and rows dropped to stay in bounds. Series of
// deleted policies and endpoints stay until the daemon restarts.
type Metrics struct {
	policyPackets, policyBytes *prometheus.CounterVec
	endpointDenied             *prometheus.CounterVec
	dropped                    prometheus.Counter
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
	}
	reg.MustRegister(m.policyPackets, m.policyBytes, m.endpointDenied, m.dropped)
	return m
}

// record adds a closed interval's rows.
func (m *Metrics) record(rows []Flow, dropped uint64) {
	if m == nil {
		return
	}
	m.dropped.Add(float64(dropped))
	for i := range rows {
		r := &rows[i]
		p := r.Policy
		labels := []string{p.Tier, p.Kind, p.Namespace, p.Name, strconv.Itoa(p.Rule), p.Direction, r.Action}
		m.policyPackets.WithLabelValues(labels...).Add(float64(r.Packets))
		m.policyBytes.WithLabelValues(labels...).Add(float64(r.Bytes))
		if r.Action != "deny" {
			continue
		}
		ep := r.Dst
		if r.Reporter == "src" {
			ep = r.Src
		}
		if ep.Kind == "wep" {
			m.endpointDenied.WithLabelValues(ep.Namespace, ep.Name, p.Direction).Add(float64(r.Packets))
		}
	}
}
