package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	sdaemon "github.com/coreos/go-systemd/v22/daemon"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/logging"
	"github.com/calico-docker/calico-libnetwork/metrics"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/status"
)

// Observability holds the settings of logs, metrics and the plugin
// socket layout.
type Observability struct {
	LogFormat    string // text or json
	LogFile      string // "" when log_file is none
	LogMaxSizeMB int
	LogMaxFiles  int
	MetricsAddr  string // "" = no metrics server
	Pprof        bool   // serve /debug/pprof/ on MetricsAddr too
	SingleSocket bool
}

func (p *parser) observability() Observability {
	o := Observability{
		LogMaxSizeMB: p.intIn("log_max_size_mb", 1, 1024),
		LogMaxFiles:  p.intIn("log_max_files", 2, 1000),
		MetricsAddr:  p.hostPort("metrics_addr"),
		SingleSocket: p.boolean("single_socket"),
		Pprof:        p.boolean("pprof"),
	}
	if o.Pprof && o.MetricsAddr == "" {
		p.fail(configError("pprof", "true", "set metrics_addr too: the profiler is served on the metrics listener"))
	}
	switch o.LogFormat = p.str("log_format"); o.LogFormat {
	case logging.FormatText, logging.FormatJSON:
	default:
		p.fail(configError("log_format", o.LogFormat, "use text or json"))
	}
	switch f := p.str("log_file"); {
	case f == "" || f == "none":
	case strings.HasPrefix(f, "/") && !strings.HasSuffix(f, "/"):
		o.LogFile = f
	default:
		p.fail(configError("log_file", f, "use an absolute file path, or none"))
	}
	return o
}

// hostPort accepts "" or host:port.
func (p *parser) hostPort(key string) string {
	s := p.str(key)
	if s == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(s)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		p.fail(configError(key, s, "use host:port, such as localhost:9091, or leave it empty"))
	}
	return s
}

// openLogger returns the process logger: stderr, plus the rotated log file.
func openLogger(cfg *Config) (*logging.Logger, error) {
	l, err := logging.New(logging.Config{
		Level: cfg.LogLevel, Format: cfg.LogFormat, Stderr: true,
		File: cfg.LogFile, MaxSizeMB: cfg.LogMaxSizeMB, MaxFiles: cfg.LogMaxFiles,
	})
	if err != nil {
		return nil, configError("log_file", cfg.LogFile, err.Error())
	}
	return l, nil
}

// observer owns the metrics, the health checks and their HTTP server
// (when metrics_addr is set), and tells systemd when the daemon is ready.
type observer struct {
	metrics *metrics.Metrics
	server  *metrics.Server
	log     *slog.Logger
	started atomic.Bool
}

// startObserver starts the metrics server first, so /healthz answers and
// /readyz says "starting" while etcd and the dataplane come up.
func startObserver(cfg *Config, log *slog.Logger) (*observer, error) {
	o := &observer{metrics: metrics.New(), log: log}
	o.metrics.AddReadyCheck("startup", func(context.Context) error {
		if !o.started.Load() {
			return errors.New("still starting: the plugin sockets are not served yet")
		}
		return nil
	})
	if cfg.MetricsAddr != "" {
		serve, paths := o.metrics.Serve, "/metrics /healthz /readyz"
		if cfg.Pprof {
			serve, paths = o.metrics.ServeWithPprof, paths+" /debug/pprof/"
		}
		s, err := serve(cfg.MetricsAddr)
		if err != nil {
			return nil, err
		}
		o.server = s
		log.Info("Serving metrics and health", "addr", s.Addr().String(), "paths", paths)
	}
	return o, nil
}

// etcdDialOptions time and count every etcd request.
func (o *observer) etcdDialOptions() []grpc.DialOption { return o.metrics.EtcdDialOptions() }

// watchDatastore: ready while etcd answers a linearizable read and
// raises no alarm (NOSPACE: writes fail).
func (o *observer) watchDatastore(cli *clientv3.Client) {
	o.metrics.AddReadyCheck("datastore", func(ctx context.Context) error {
		return datastore.Health(ctx, cli)
	})
}

// watchDataplane: alive while felix's loop runs; ready once it synced and
// while its last apply succeeded (a change being applied is fine).
func (o *observer) watchDataplane(dp *felix.Dataplane) {
	o.metrics.SetDataplaneSource(func() metrics.DataplaneStatus { return dataplaneStatus(dp.Status()) })
	o.metrics.AddLiveCheck("dataplane", func(context.Context) error {
		select {
		case <-dp.Done():
			return errors.New("the dataplane loop has stopped")
		default:
			return nil
		}
	})
	o.metrics.AddReadyCheck("dataplane", func(context.Context) error {
		st := dp.Status()
		switch {
		case st.InSync:
			return nil
		case st.LastError != nil:
			return fmt.Errorf("not in sync: the last apply failed (%d of %d failed): %w", st.Failures, st.Applies, st.LastError)
		case st.Applies == 0:
			return errors.New("not in sync: the first apply has not finished")
		}
		return nil
	})
}

func dataplaneStatus(st felix.Status) metrics.DataplaneStatus {
	return metrics.DataplaneStatus{
		InSync: st.InSync, Applies: st.Applies, Failures: st.Failures,
		LastApplyDuration: st.LastApplyDuration, LastRenderDuration: st.LastRenderDuration,
		Endpoints: st.Endpoints, Routes: st.RoutesProgrammed,
		UpdateLatencyCount: st.UpdateLatency.Count, UpdateLatencySum: st.UpdateLatency.Total,
	}
}

// watchStore reports pool usage and resource counts from the cache.
func (o *observer) watchStore(c *cache.Cache, node string) {
	o.metrics.SetIPAMSource(func(context.Context) ([]metrics.PoolUsage, error) { return poolUsage(c, node), nil })
	o.metrics.SetResourceSource(func(context.Context) (metrics.ResourceCounts, error) { return resourceCounts(c, node), nil })
}

func poolUsage(c *cache.Cache, node string) []metrics.PoolUsage {
	pools := c.Resources(resources.KindIPPool)
	blocks := c.Blocks()
	out := make([]metrics.PoolUsage, 0, len(pools))
	for _, r := range pools {
		p, ok := r.(*resources.IPPool)
		if !ok {
			continue
		}
		u := metrics.PoolUsage{Name: p.Name, CIDR: p.Spec.CIDR}
		pfx, err := netip.ParsePrefix(p.Spec.CIDR)
		if err != nil {
			out = append(out, u)
			continue
		}
		u.Addresses = math.Exp2(float64(pfx.Addr().BitLen() - pfx.Bits()))
		for _, b := range blocks {
			if !pfx.Contains(b.CIDR.Addr()) || pfx.Bits() > b.CIDR.Bits() {
				continue
			}
			u.Blocks++
			u.Allocated += len(b.Allocations)
			if b.Affinity == node {
				u.NodeBlocks++
				u.NodeAllocated += len(b.Allocations)
			}
		}
		out = append(out, u)
	}
	return out
}

func resourceCounts(c *cache.Cache, node string) metrics.ResourceCounts {
	return metrics.ResourceCounts{
		WorkloadEndpoints:     c.Len(resources.KindWorkloadEndpoint),
		NodeWorkloadEndpoints: len(c.EndpointsOfNode(node)),
		NetworkPolicies:       c.Len(resources.KindNetworkPolicy),
		GlobalNetworkPolicies: c.Len(resources.KindGlobalNetworkPolicy),
		Profiles:              c.Len(resources.KindProfile),
	}
}

// watchRouting reports BGP sessions and routing's routes from the
// router's status (the document of the status socket).
func (o *observer) watchRouting(fn func() status.Status) {
	if fn == nil {
		return
	}
	o.metrics.SetRoutingSource(func(context.Context) (metrics.RoutingStatus, error) { return routingStatus(fn()), nil })
}

func routingStatus(st status.Status) metrics.RoutingStatus {
	r := metrics.RoutingStatus{RoutesProgrammed: st.Routes.Programmed, RoutesInSync: st.Routes.InSync}
	if st.BGP != nil {
		r.BGPRunning, r.Learned, r.Exported = st.BGP.Running, st.BGP.Learned, st.BGP.Exported
		for _, p := range st.BGP.Peers {
			r.Peers = append(r.Peers, metrics.BGPPeer{Peer: p.PeerIP, Type: p.Type, State: p.State})
		}
	}
	return r
}

// ready marks start-up done and tells systemd (Type=notify units).
func (o *observer) ready() {
	o.started.Store(true)
	if ok, err := sdaemon.SdNotify(false, sdaemon.SdNotifyReady); err != nil {
		o.log.Warn("Could not notify systemd that the daemon is ready", "err", err)
	} else if ok {
		o.log.Debug("Notified systemd: ready")
	}
}

// close tells systemd the daemon is stopping and stops the metrics server.
func (o *observer) close() {
	_, _ = sdaemon.SdNotify(false, sdaemon.SdNotifyStopping)
	if o.server != nil {
		if err := o.server.Close(); err != nil {
			o.log.Warn("Stopping the metrics server", "err", err)
		}
	}
}
