package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/flows"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// FlowLogSettings are the flow-log settings.
type FlowLogSettings struct {
	FlowLogs          bool          // flow_logs
	FlowLogsInterval  time.Duration // flow_logs_interval
	FlowLogsMax       int           // flow_logs_max: rows per interval
	FlowLogsIntervals int           // flow_logs_intervals: the ring
}

func (p *parser) flowLogSettings() FlowLogSettings {
	s := FlowLogSettings{
		FlowLogs:          p.boolean("flow_logs"),
		FlowLogsMax:       p.intIn("flow_logs_max", 100, 1_000_000),
		FlowLogsIntervals: p.intIn("flow_logs_intervals", 1, 1000),
	}
	iv := p.str("flow_logs_interval")
	d, err := time.ParseDuration(iv)
	if err != nil || d < time.Second || d > 10*time.Minute {
		p.fail(configError("flow_logs_interval", iv, "use a duration from 1s to 10m, such as 15s"))
	}
	s.FlowLogsInterval = d
	return s
}

// startFlows runs flow-log collection (felix reads NFLOG and conntrack;
// package flows aggregates, with endpoints from a cache subscription)
// until ctx ends, and returns the flows API handler; nil when flow_logs is
// off. The API is served on the status socket and on metrics_addr.
func startFlows(ctx context.Context, cfg *Config, c *cache.Cache, dp *felix.Dataplane, obs *observer, log *slog.Logger) (http.Handler, error) {
	if !cfg.FlowLogs {
		return nil, nil
	}
	reader, err := dp.OpenFlowLogs()
	if err != nil {
		return nil, fmt.Errorf("%w; or set flow_logs to false", err)
	}
	dir := flows.NewDirectory(newNetworkNames(cfg.DockerHost, log))
	col := flows.NewCollector(flows.Config{
		Node: cfg.NodeName, Interval: cfg.FlowLogsInterval, MaxRows: cfg.FlowLogsMax, Intervals: cfg.FlowLogsIntervals,
		Rules: dp, Counters: reader, Directory: dir, Metrics: flows.NewMetrics(obs.metrics.Registerer()), Logger: log,
	})
	stop := c.Subscribe("flows", flows.Kinds, dir.OnSyncEvent)
	go func() {
		defer reader.Close()
		defer stop()
		if err := reader.Run(ctx, col.Observe); err != nil {
			log.Error("Flow logs stopped", "err", err)
		}
	}()
	go col.Run(ctx)
	api := flows.NewAPI(col, policyLookup(c)).Handler()
	obs.metrics.Mount("/api/v1/", api)
	log.Info("Flow logs on", "interval", cfg.FlowLogsInterval, "maxRows", cfg.FlowLogsMax, "intervals", cfg.FlowLogsIntervals)
	return api, nil
}

// policyLookup finds a policy or profile in the cache.
func policyLookup(c *cache.Cache) flows.PolicyLookup {
	return func(kind, ns, name string) (resources.Resource, bool) {
		for _, r := range c.Resources(kind) {
			if m := r.Meta(); m.Name == name && m.Namespace == ns {
				return r, true
			}
		}
		return nil, false
	}
}

// newNetworkNames turns Docker network IDs into names, asking Docker once
// per network (a short ID until it answers).
func newNetworkNames(dockerHost string, log *slog.Logger) func(string) string {
	cli, err := dockerapi.New(dockerHost)
	if err != nil {
		log.Warn("Flow logs: no Docker client; networks are shown by ID", "err", err)
	}
	var mu sync.Mutex
	names := map[string]string{}
	return func(id string) string {
		mu.Lock()
		defer mu.Unlock()
		if n, ok := names[id]; ok {
			return n
		}
		name := id[:min(len(id), 12)]
		if cli != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if n, err := cli.NetworkName(ctx, id); err == nil {
				name = n
				names[id] = n
			}
			cancel()
		}
		return name
	}
}

// flowsAPIURL is the URL other hosts reach this daemon's flows API at: the
// metrics address, its unspecified host replaced by the node's address.
func flowsAPIURL(metricsAddr, nodeIP string) string {
	host, port, err := net.SplitHostPort(metricsAddr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if nodeIP == "" {
			return ""
		}
		host = nodeIP
	}
	return "http://" + net.JoinHostPort(host, port)
}

// annotateFlowsAPI records (or clears, when flow logs or metrics_addr
// are off) the flows API URL on this node's Node resource, keeping
// everything else.
func annotateFlowsAPI(ctx context.Context, s *datastore.Store, cfg *Config) error {
	name := cfg.NodeName
	for range 5 {
		n, err := datastore.GetAs[*resources.Node](ctx, s, "", name)
		if err != nil {
			return fmt.Errorf("read node %q: %w", name, err)
		}
		url := ""
		if cfg.FlowLogs && cfg.MetricsAddr != "" {
			nodeIP := ""
			if n.Spec.BGP != nil {
				nodeIP, _, _ = strings.Cut(n.Spec.BGP.IPv4Address, "/")
			}
			url = flowsAPIURL(cfg.MetricsAddr, nodeIP)
		}
		if n.Annotations[flows.AnnotationAPI] == url {
			return nil
		}
		if url == "" {
			delete(n.Annotations, flows.AnnotationAPI)
		} else {
			if n.Annotations == nil {
				n.Annotations = map[string]string{}
			}
			n.Annotations[flows.AnnotationAPI] = url
		}
		if _, err = s.Update(ctx, n); err == nil {
			return nil
		}
		if !errors.Is(err, datastore.ErrConflict) {
			return fmt.Errorf("record the flows API on node %q: %w", name, err)
		}
	}
	return fmt.Errorf("record the flows API on node %q: it kept changing under us", name)
}
