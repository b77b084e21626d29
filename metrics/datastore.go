package metrics

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

type etcdMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

func newEtcdMetrics(reg prometheus.Registerer) etcdMetrics {
	e := etcdMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "datastore", Name: "request_duration_seconds",
			Help: "Latency of etcd requests by operation (e.g. KV.Range, KV.Txn); for streams " +
				"(Watch.Watch) the time to open the stream.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "datastore", Name: "errors_total",
			Help: "Failed etcd requests by operation and gRPC status code.",
		}, []string{"op", "code"}),
	}
	reg.MustRegister(e.duration, e.errors)
	return e
}

// EtcdDialOptions returns gRPC dial options that time and count every etcd
// request of a client (pass them in clientv3.Config.DialOptions).
func (m *Metrics) EtcdDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(m.etcd.unary),
		grpc.WithChainStreamInterceptor(m.etcd.stream),
	}
}

func (e etcdMetrics) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	start := time.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	e.observe(method, start, err)
	return err
}

func (e etcdMetrics) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	start := time.Now()
	s, err := streamer(ctx, desc, cc, method, opts...)
	e.observe(method, start, err)
	return s, err
}

func (e etcdMetrics) observe(method string, start time.Time, err error) {
	op := opName(method)
	e.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil {
		e.errors.WithLabelValues(op, status.Code(err).String()).Inc()
	}
}

// opName turns "/etcdserverpb.KV/Range" into "KV.Range".
func opName(method string) string {
	svc, m, ok := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	if !ok {
		return "other"
	}
	if i := strings.LastIndexByte(svc, '.'); i >= 0 {
		svc = svc[i+1:]
	}
	return svc + "." + m
}
