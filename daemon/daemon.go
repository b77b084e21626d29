package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing"
)

// Main runs the daemon with command-line arguments args (without the
// program name) until SIGINT or SIGTERM. It returns an error instead of
// exiting or panicking, so cmd/calico-libnetwork stays a few lines.
func Main(args []string) error {
	cfg, err := LoadConfig(args, os.Stderr)
	var exit errExit
	if errors.As(err, &exit) {
		if exit.msg != "" {
			fmt.Println(exit.msg)
		}
		return nil
	}
	if err != nil {
		return err
	}
	logger, err := openLogger(cfg) // stderr and the rotated log_file (observability.go)
	if err != nil {
		return err
	}
	defer logger.Close()
	log := logger.Logger
	cfg.LogLevels = logger.Level // FelixConfiguration logSeverityScreen changes it (felixconfig.go)
	slog.SetDefault(log)         // for packages that log through slog.Default
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return Run(ctx, cfg, log)
}

// Run starts everything, serves until ctx ends, then shuts down: the
// sockets go first (so Docker stops calling), the dataplane is left as it
// is (running workloads keep their routes; the next start resyncs).
func Run(ctx context.Context, cfg *Config, log *slog.Logger) (err error) {
	log.Info("Starting calico-libnetwork", "version", Version(), "node", cfg.NodeName)
	for _, m := range cfg.Migrated {
		log.Info("Old Calico variable: " + m)
	}
	if err := ensureWritableSysctls(log); err != nil { // managed plugin (plugin.go)
		return err
	}
	if err := checkSystem(ctx, cfg, log); err != nil { // fail fast (checks.go)
		return err
	}
	obs, err := startObserver(cfg, log) // metrics, health, systemd notify (observability.go)
	if err != nil {
		return err
	}
	defer obs.close()
	obs.watchSystem(cfg)
	cons, err := startConsole(cfg, log) // the web console, when on (console.go)
	if err != nil {
		return err
	}
	defer cons.close()
	cli, closeEtcd, err := openEtcd(ctx, cfg, obs.etcdDialOptions(), log)
	if err != nil {
		return err
	}
	defer closeEtcd()
	obs.watchDatastore(cli)
	store := datastore.New(cli)
	alloc := ipam.New(store, cfg.NodeName)
	if err := alloc.EnsureDefaultPool(ctx, cfg.DefaultPool.String()); err != nil {
		return fmt.Errorf("default pool %s (calico_network): %w", cfg.DefaultPool, err)
	}
	if err := registerNode(ctx, store, cfg.NodeName, time.Now()); err != nil {
		return err
	}
	if err := ensureClusterInformation(ctx, store); err != nil { // clusterinfo.go
		return err
	}
	if err := ensureDefaultTier(ctx, store); err != nil { // clusterinfo.go
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := startIPAMIntents(runCtx, cfg, alloc, log); err != nil { // ipamintents.go
		return err
	}
	c, err := startCache(runCtx, cfg, store, log)
	if err != nil {
		return err
	}
	useCachedReservations(alloc, c) // reservations.go
	obs.watchStore(c, cfg.NodeName)
	live := newLiveConfig(cfg, c, log) // FelixConfiguration, applied live (felixconfig.go)
	dp, err := startDataplane(runCtx, cfg, live, c, log)
	if err != nil {
		return err
	}
	obs.watchDataplane(dp)
	statusSrc := newStatusSources(cfg, cli, dp) // status.go: the status socket's document
	statusSrc.Felix = live.Result
	if statusSrc.Flows, err = startFlows(runCtx, cfg, c, dp, obs, log); err != nil { // flows.go
		cancel()
		<-dp.Done()
		return err
	}
	cons.setAPI(statusSrc.Flows) // the console's page reads the same API on its origin
	if err := startIPAMGC(runCtx, cfg, c, alloc, log); err != nil {
		cancel()
		<-dp.Done()
		return err
	}
	stopRouting, err := startRouting(runCtx, cfg, store, c, alloc, dp, live, statusSrc, log) // routing.go
	if err != nil {
		cancel()
		<-dp.Done()
		return err
	}
	go live.run(runCtx)
	obs.watchRouting(statusSrc.Routing)                       // BGP and route metrics (observability.go)
	if err := annotateFlowsAPI(ctx, store, cfg); err != nil { // flows.go; after routing stored the node's address
		log.Warn("Could not record the flows API address on the node; calicoctl flows --node will not find it", "err", err)
	}
	// Consul registration of this node's workloads (consul.go).
	if err := startConsul(runCtx, cfg, c, log); err != nil {
		cancel()
		<-dp.Done()
		stopRouting()
		return err
	}
	socks, closeDrivers, err := serveDrivers(cfg, store, alloc, c, dp, obs, log)
	if err != nil {
		cancel()
		<-dp.Done()
		stopRouting()
		return err
	}
	log.Info("Ready", "pluginDir", cfg.PluginDir, "etcd", cli.Endpoints())
	obs.ready()
	<-ctx.Done()
	log.Info("Shutting down")
	for _, s := range socks {
		if err := s.Close(); err != nil {
			log.Warn("Closing plugin socket", "socket", s.path, "err", err)
		}
	}
	closeDrivers()
	cancel()
	<-dp.Done()
	stopRouting()
	log.Info("Stopped")
	return nil
}

// startCache runs the one datastore syncer into the cache every consumer
// reads (felix, routing, the IPAM GC, metrics) until ctx ends, and waits
// for its first full sync (bounded by cacheSyncTimeout).
func startCache(ctx context.Context, cfg *Config, store *datastore.Store, log *slog.Logger) (*cache.Cache, error) {
	c := cache.New(cache.Config{Node: cfg.NodeName, Logger: log})
	go func() { _ = store.NewSyncer(datastore.SyncerConfig{Logger: log}).Run(ctx, c.Apply) }()
	wctx, cancel := context.WithTimeout(ctx, cacheSyncTimeout)
	defer cancel()
	if err := c.WaitSynced(wctx); err != nil {
		return nil, fmt.Errorf("first read of the datastore did not finish within %v: check that etcd answers: %w", cacheSyncTimeout, err)
	}
	log.Info("Datastore cache synced", "revision", c.Revision(),
		"workloadEndpoints", c.Len(resources.KindWorkloadEndpoint), "blocks", c.Len(model.KindBlock))
	return c, nil
}

// cacheSyncTimeout bounds the daemon's first read of the datastore.
const cacheSyncTimeout = 2 * time.Minute

// startDataplane starts felix in policy mode, primed with this node's
// blocks and with the settings FelixConfiguration gives (live), then keeps
// it fed from the cache (see watcher).
func startDataplane(ctx context.Context, cfg *Config, live *liveConfig, c *cache.Cache, log *slog.Logger) (*felix.Dataplane, error) {
	res := live.resolve()
	s := res.Settings
	dp := felix.New(felix.Config{
		ResyncInterval: s.ResyncInterval(), EnableIPv6: s.IPv6, IgnoreLooseRPF: cfg.IgnoreLooseRPF,
		IptablesBackend: iptables.Backend(cfg.IptablesBackend), Dataplane: live.startedDataplane(res), Logger: log,
		NftablesForwardHook: cfg.NftablesForwardHook,
		NodeName:            cfg.NodeName, Policy: true, EndpointToHostAccept: s.EndpointToHostAction == felix.EndpointToHostAccept, FlowLogs: cfg.FlowLogs,
		HostEndpoints:   felix.HostEndpointConfig{FailsafeInbound: s.FailsafeInbound, FailsafeOutbound: s.FailsafeOutbound},
		ProbeIPIP:       cfg.NetworkingBackend != routing.BackendNone,
		OwnedInterfaces: func() []string { return ownedInterfaces(c, cfg.NodeName) },
		NetworkPeers:    func(network string) []netip.Addr { return networkPeers(c, network) },
	})
	live.attach(dp, nil) // routing attaches when it starts
	w := newWatcher(cfg.NodeName, c, dp, log)
	w.prime()
	if err := dp.Start(ctx); err != nil {
		return nil, fmt.Errorf("start dataplane: %w", err)
	}
	go w.run(ctx)
	return dp, nil
}

// ownedInterfaces lists the host-side interfaces of the node's endpoints
// in the cache: felix keeps these veths whatever their state.
func ownedInterfaces(c *cache.Cache, node string) []string {
	weps := c.EndpointsOfNode(node)
	names := make([]string, 0, len(weps))
	for _, w := range weps {
		names = append(names, w.Spec.InterfaceName)
	}
	return names
}

// networkPeers lists the addresses (IPv4 and IPv6) of a network's endpoints in the
// cache (its index: O(endpoints of the network)); felix routes them in
// sandboxes whose networks share address space.
func networkPeers(c *cache.Cache, network string) []netip.Addr {
	var out []netip.Addr
	for _, w := range c.EndpointsOfNetwork(network) {
		for _, a := range w.Addrs() {
			out = append(out, a.Addr())
		}
	}
	return out
}

// serveDrivers serves the network and IPAM drivers on their sockets. The
// network driver asks endpoints for a sandbox's endpoints.
func serveDrivers(cfg *Config, store *datastore.Store, alloc *ipam.Allocator, c *cache.Cache, dp *felix.Dataplane, obs *observer, log *slog.Logger) ([]*socket, func(), error) {
	docker, err := dockerapi.New(cfg.DockerHost)
	if err != nil {
		return nil, nil, configError("docker_host", cfg.DockerHost, err.Error())
	}
	drv, err := driver.New(driver.Config{
		Node: cfg.NodeName, Store: store, IPAM: alloc, Docker: docker, Endpoints: c, MTU: cfg.VethMTU, Logger: log,
		SourceRoutes: dp,
	})
	if err != nil {
		return nil, nil, err
	}
	closeAll := func() { drv.Close(); docker.Close() }
	rctx, rcancel := context.WithTimeout(context.Background(), startupTimeout)
	defer rcancel()
	if err := drv.Resync(rctx); err != nil {
		log.Warn("Could not resync the endpoints of this node (source routing of multi-network containers, pending container labels)", "err", err)
	}
	gate := readyGate(c) // datastoreready.go: ClusterInformation datastoreReady
	wrap := func(h http.Handler) http.Handler { return obs.metrics.Plugin(gate(h)) }
	socks, err := servePlugins(cfg, drv.Handler(), newIPAMHandler(store, alloc, cfg.IPv6), wrap, log) // pluginmux.go
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return socks, closeAll, nil
}
