package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/docker/go-plugins-helpers/network"
	clientv3 "go.etcd.io/etcd/client/v3"

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
	log := newLogger(os.Stderr, cfg.LogLevel)
	slog.SetDefault(log) // for packages that log through slog.Default
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return Run(ctx, cfg, log)
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// Run starts everything, serves until ctx ends, then shuts down: the
// sockets go first (so Docker stops calling), the dataplane is left as it
// is (running workloads keep their routes; the next start resyncs).
func Run(ctx context.Context, cfg *Config, log *slog.Logger) (err error) {
	log.Info("Starting calico-libnetwork", "version", Version(), "node", cfg.NodeName)
	cli, closeEtcd, err := openEtcd(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeEtcd()
	store := datastore.New(cli)
	alloc := ipam.New(store, cfg.NodeName)
	if err := alloc.EnsureDefaultPool(ctx, cfg.DefaultPool.String()); err != nil {
		return fmt.Errorf("default pool %s (calico_network): %w", cfg.DefaultPool, err)
	}
	if err := registerNode(ctx, store, cfg.NodeName, time.Now()); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	dp, err := startDataplane(runCtx, cfg, store, alloc, log)
	if err != nil {
		return err
	}
	socks, closeDrivers, err := serveDrivers(cfg, store, alloc, log)
	if err != nil {
		cancel()
		<-dp.Done()
		return err
	}
	log.Info("Ready", "pluginDir", cfg.PluginDir, "etcd", cli.Endpoints())
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
	log.Info("Stopped")
	return nil
}

// openEtcd connects to ETCD_ENDPOINTS, or starts the embedded etcd.
func openEtcd(ctx context.Context, cfg *Config, log *slog.Logger) (*clientv3.Client, func(), error) {
	if len(cfg.Etcd.Endpoints) > 0 {
		cli, err := datastore.Connect(ctx, cfg.Etcd)
		if err != nil {
			return nil, nil, err
		}
		log.Info("Using etcd", "endpoints", cfg.Etcd.Endpoints)
		return cli, func() { cli.Close() }, nil
	}
	emb, err := datastore.StartEmbedded(datastore.EmbeddedConfig{
		DataDir: cfg.DataDir, ClientHost: cfg.EtcdClientHost, ClientPort: cfg.EtcdClientPort, PeerPort: cfg.EtcdPeerPort,
	})
	if err != nil {
		return nil, nil, err
	}
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{Endpoints: emb.Endpoints})
	if err != nil {
		emb.Close()
		return nil, nil, err
	}
	log.Info("Started embedded etcd", "endpoints", emb.Endpoints, "dataDir", cfg.DataDir)
	return cli, func() { cli.Close(); emb.Close() }, nil
}

// startDataplane primes felix with the stored endpoints and blocks, starts
// it, then keeps it fed from a datastore watch.
func startDataplane(ctx context.Context, cfg *Config, store *datastore.Store, alloc *ipam.Allocator, log *slog.Logger) (*felix.Dataplane, error) {
	dp := felix.New(felix.Config{
		ResyncInterval: cfg.ResyncInterval, EnableIPv6: cfg.IPv6, IgnoreLooseRPF: cfg.IgnoreLooseRPF,
		IptablesBackend: iptables.Backend(cfg.IptablesBackend), Logger: log,
	})
	w := newWatcher(cfg.NodeName, store, alloc, dp, cfg.ResyncInterval, log)
	if err := w.prime(ctx); err != nil {
		return nil, fmt.Errorf("load endpoints and blocks: %w", err)
	}
	if err := dp.Start(ctx); err != nil {
		return nil, fmt.Errorf("start dataplane: %w", err)
	}
	go w.run(ctx)
	return dp, nil
}

// serveDrivers serves the network and IPAM drivers on their sockets.
func serveDrivers(cfg *Config, store *datastore.Store, alloc *ipam.Allocator, log *slog.Logger) ([]*socket, func(), error) {
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
	closeAll := func() { drv.Close(); docker.Close() }
	if err := drv.Resync(context.Background()); err != nil {
		log.Warn("Could not resync source routing of multi-network containers", "err", err)
	}
	netSock, err := serveSocket(cfg.PluginDir, NetworkPluginName, network.NewHandler(drv), log)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	ipamSock, err := serveSocket(cfg.PluginDir, IPAMPluginName, newIPAMHandler(store, alloc), log)
	if err != nil {
		netSock.Close()
		closeAll()
		return nil, nil, err
	}
	return []*socket{netSock, ipamSock}, closeAll, nil
}
