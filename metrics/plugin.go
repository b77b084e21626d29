package metrics

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// pluginMethods are the request paths of the libnetwork remote-driver and
// IPAM protocols (and the plugin handshake), by driver label. Any other
// path counts as method "other", so a caller cannot grow the label set.
var pluginMethods = map[string]map[string]bool{
	"Plugin": {"Activate": true},
	"NetworkDriver": set("GetCapabilities", "CreateNetwork", "AllocateNetwork", "DeleteNetwork", "FreeNetwork",
		"CreateEndpoint", "DeleteEndpoint", "EndpointOperInfo", "Join", "Leave", "DiscoverNew", "DiscoverDelete",
		"ProgramExternalConnectivity", "RevokeExternalConnectivity"),
	"IpamDriver": set("GetCapabilities", "GetDefaultAddressSpaces", "RequestPool", "ReleasePool",
		"RequestAddress", "ReleaseAddress"),
}

var driverLabels = map[string]string{"Plugin": "plugin", "NetworkDriver": "network", "IpamDriver": "ipam"}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

type pluginMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newPluginMetrics(reg prometheus.Registerer) pluginMetrics {
	p := pluginMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "plugin", Name: "requests_total",
			Help: "Docker plugin requests handled, by driver (network, ipam, plugin), method and result (ok, error).",
		}, []string{"driver", "method", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "plugin", Name: "request_duration_seconds",
			Help:    "Time to answer a Docker plugin request, by driver and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"driver", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "plugin", Name: "requests_in_flight",
			Help: "Docker plugin requests being handled.",
		}),
	}
	reg.MustRegister(p.requests, p.duration, p.inFlight)
	return p
}

// splitMethod turns "/NetworkDriver.CreateNetwork" into ("network",
// "CreateNetwork"); unknown paths give ("other", "other").
func splitMethod(path string) (driver, method string) {
	iface, m, ok := strings.Cut(strings.TrimPrefix(path, "/"), ".")
	if !ok || !pluginMethods[iface][m] {
		return "other", "other"
	}
	return driverLabels[iface], m
}

// Plugin wraps a Docker plugin handler (network or IPAM driver, or both on
// one socket): every request is counted by driver, method and result and
// timed. A response with a status of 400 or more is an error, which is how
// the plugin protocol reports failures ({"Err": "..."}).
func (m *Metrics) Plugin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		driver, method := splitMethod(r.URL.Path)
		m.plugin.inFlight.Inc()
		defer m.plugin.inFlight.Dec()
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		result := "ok"
		if sw.status >= 400 {
			result = "error"
		}
		m.plugin.duration.WithLabelValues(driver, method).Observe(time.Since(start).Seconds())
		m.plugin.requests.WithLabelValues(driver, method, result).Inc()
	})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
