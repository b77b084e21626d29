package metrics

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "calico"

// SourceTimeout bounds how long one scrape waits for a source.
const SourceTimeout = 3 * time.Second

// Metrics holds the daemon's collectors, its scrape-time sources and its
// health checks. It is safe for concurrent use; the zero value is not
// usable: call New.
type Metrics struct {
	reg    *prometheus.Registry
	plugin pluginMetrics
	etcd   etcdMetrics
	health health

	mu      sync.Mutex
	sources sources
	mounted *http.ServeMux // handlers other packages add (Mount)
}

// New returns a Metrics with every collector registered.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), mounted: http.NewServeMux()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.plugin = newPluginMetrics(m.reg)
	m.etcd = newEtcdMetrics(m.reg)
	m.reg.MustRegister(&sourceCollector{m: m})
	return m
}

// Registerer lets other packages add collectors to the same registry.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// Gatherer returns the registry, for tests and custom exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves /metrics, /healthz and /readyz.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError, Timeout: 2 * SourceTimeout,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { m.health.serve(w, r, false) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { m.health.serve(w, r, true) })
	mux.Handle("/", m.mounted)
	return mux
}

// Mount serves h at pattern on the metrics listener too (the flows API,
// the web console); it may be called after the server started.
func (m *Metrics) Mount(pattern string, h http.Handler) { m.mounted.Handle(pattern, h) }

// Ready runs the ready checks, as /readyz does, and returns the failures
// (nil when ready).
func (m *Metrics) Ready(ctx context.Context) []error { return m.health.run(ctx, true).failures() }
