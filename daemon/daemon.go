package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/ipam"
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
	slog.SetDefault(log) // for packages that log through slog.Default
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return Run(ctx, cfg, log)
}

// Run starts everything, serves until ctx ends, then shuts down: the
// sockets go first (so Docker stops calling), the dataplane is left as it
// is (running workloads keep their routes; the next start resyncs).
func Run(ctx context.Context, cfg *Config, log *slog.Logger) (err error) {
	log.Info("Starting calico-libnetwork", "version", Version(), "node", cfg.NodeName)
	obs, err := startObserver(cfg, log) // metrics, health, systemd notify (observability.go)
	if err != nil {
		return err
	}
	defer obs.close()
	cli, closeEtcd, err := openEtcd(ctx, cfg, obs.etcdDialOptions(), log)
	if err != nil {
		return err
	}
	defer closeEtcd()
	obs.watchDatastore(cli)
	store := datastore.New(cli)
	alloc := ipam.New(store, cfg.NodeName)
	obs.watchStore(store, alloc, cfg.NodeName)
	if err := alloc.EnsureDefaultPool(ctx, cfg.DefaultPool.String()); err != nil {
		return fmt.Errorf("default pool %s (calico_network): %w", cfg.DefaultPool, err)
	}
	if err := registerNode(ctx, store, cfg.NodeName, time.Now()); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := ensureWritableSysctls(log); err != nil { // managed plugin (plugin.go)
		return err
	}
	dp, err := startDataplane(runCtx, cfg, store, alloc, log)
	if err != nil {
		return err
	}
	obs.watchDataplane(dp)
	statusSrc := newStatusSources(cfg, cli, dp) // status.go: the status socket's document
	if err := startIPAMGC(runCtx, cfg, store, alloc, log); err != nil {
		cancel()
		<-dp.Done()
		return err
	}
	stopRouting, err := startRouting(runCtx, cfg, store, alloc, statusSrc, log) // routing.go
	if err != nil {
		cancel()
		<-dp.Done()
		return err
	}
	obs.watchRouting(statusSrc.Routing) // BGP and route metrics (observability.go)
	socks, closeDrivers, err := serveDrivers(cfg, store, alloc, obs, log)
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

// startDataplane starts felix in policy mode, primed with this node's
// blocks, then keeps it fed from a datastore watch (see watcher).
func startDataplane(ctx context.Context, cfg *Config, store *datastore.Store, alloc *ipam.Allocator, log *slog.Logger) (*felix.Dataplane, error) {
	dp := felix.New(felix.Config{
		ResyncInterval: cfg.ResyncInterval, EnableIPv6: cfg.IPv6, IgnoreLooseRPF: cfg.IgnoreLooseRPF,
		IptablesBackend: iptables.Backend(cfg.IptablesBackend), Logger: log,
		NodeName: cfg.NodeName, Policy: true, EndpointToHostAccept: cfg.EndpointToHostAccept,
	})
	w := newWatcher(cfg.NodeName, store, alloc, dp, cfg.ResyncInterval, log)
	if err := w.prime(ctx); err != nil {
		return nil, fmt.Errorf("load this node's IPAM blocks: %w", err)
	}
	if err := dp.Start(ctx); err != nil {
		return nil, fmt.Errorf("start dataplane: %w", err)
	}
	go w.run(ctx)
	return dp, nil
}

// serveDrivers serves the network and IPAM drivers on their sockets.
func serveDrivers(cfg *Config, store *datastore.Store, alloc *ipam.Allocator, obs *observer, log *slog.Logger) ([]*socket, func(), error) {
	docker, err := dockerapi.New(cfg.DockerHost)
	if err != nil {
		return nil, nil, configError("docker_host", cfg.DockerHost, err.Error())
	}
	drv, err := driver.New(driver.Config{
		Node: cfg.NodeName, Store: store, IPAM: alloc, Docker: docker, MTU: cfg.VethMTU, Logger: log,
	})
	if err != nil {
		return nil, nil, err
	}
	netHandler, stopNet := handlerOf(network.NewHandler(drv)) // pluginmux.go
	closeAll := func() { stopNet(); drv.Close(); docker.Close() }
	if err := drv.Resync(context.Background()); err != nil {
		log.Warn("Could not resync the endpoints of this node (source routing of multi-network containers, pending container labels)", "err", err)
	}
	socks, err := servePlugins(cfg, netHandler, newIPAMHandler(store, alloc), obs.metrics.Plugin, log)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return socks, closeAll, nil
}
