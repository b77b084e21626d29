package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/calico-docker/calico-libnetwork/cluster"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
)

// EtcdSettings are the embedded etcd's upkeep settings (etcd_* keys).
type EtcdSettings struct {
	EtcdCompactionRetention time.Duration // etcd_compaction_retention
	EtcdQuotaBytes          int64         // etcd_quota_bytes
	EtcdMaintenanceInterval time.Duration // etcd_maintenance_interval
	EtcdRestoreSnapshot     string        // etcd_restore_snapshot
}

func (p *parser) etcdSettings() EtcdSettings {
	return EtcdSettings{
		EtcdCompactionRetention: p.duration("etcd_compaction_retention"),
		EtcdQuotaBytes:          int64(p.intIn("etcd_quota_bytes", 16<<20, 8<<30)),
		EtcdMaintenanceInterval: p.duration("etcd_maintenance_interval"),
		EtcdRestoreSnapshot:     p.str("etcd_restore_snapshot"),
	}
}

// checkEtcdExposure refuses plain-http endpoints off this host: whoever
// reaches them reads and rewrites policy with no credential.
func checkEtcdExposure(eps []string) error {
	for _, ep := range eps {
		u, err := url.Parse(ep)
		if err != nil || u.Scheme != "http" {
			continue
		}
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			continue
		}
		return configError("etcd_endpoints", ep, "plain http sends policy unencrypted to an etcd anyone on the network can rewrite: "+
			"serve etcd with TLS and client-certificate auth and use https:// with etcd_ca_cert_file, etcd_cert_file and etcd_key_file, "+
			"or leave etcd_endpoints empty for the embedded etcd (TLS by default; see docs/etcd.md)")
	}
	return nil
}

// openEtcd connects to ETCD_ENDPOINTS, or runs this host's part of the
// embedded cluster: a client of the members (joined as one), a member
// (the first host, or joined as one), always with TLS and client
// certificates from the cluster CA in <data_dir>/pki.
func openEtcd(ctx context.Context, cfg *Config, opts []grpc.DialOption, log *slog.Logger) (*clientv3.Client, func(), error) {
	if len(cfg.Etcd.Endpoints) > 0 {
		ecfg := cfg.Etcd
		ecfg.DialOptions = opts
		cli, err := datastore.Connect(ctx, ecfg)
		if err != nil {
			return nil, nil, err
		}
		log.Info("Using etcd", "endpoints", cfg.Etcd.Endpoints)
		return cli, func() { cli.Close() }, nil
	}
	st, err := loadClusterState(cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	var joined *cluster.JoinResponse
	if st.Role == "" && cfg.JoinToken != "" && !embedded.HasData(cfg.DataDir) {
		if joined, st, err = joinCluster(ctx, cfg, log); err != nil {
			return nil, nil, err
		}
	}
	if st.Role == cluster.RoleClient {
		return connectAsClient(ctx, cfg, st.Endpoints, opts, log)
	}
	return startMember(ctx, cfg, st, joined, opts, log)
}

// connectAsClient connects to the cluster's members, this host being a
// client of them.
func connectAsClient(ctx context.Context, cfg *Config, endpoints []string, opts []grpc.DialOption, log *slog.Logger) (*clientv3.Client, func(), error) {
	files := pki.NodeFiles(pki.Dir(cfg.DataDir))
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{
		Endpoints: endpoints, CACertFile: files.CA, CertFile: files.Cert, KeyFile: files.Key, DialOptions: opts,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("this host is a client of the cluster's members: %w", err)
	}
	log.Info("Using the cluster's etcd members", "endpoints", endpoints)
	return cli, func() { cli.Close() }, nil
}

// startMember runs the embedded etcd member, and its join endpoint when
// other hosts can reach it.
func startMember(ctx context.Context, cfg *Config, st clusterState, joined *cluster.JoinResponse, opts []grpc.DialOption, log *slog.Logger) (*clientv3.Client, func(), error) {
	files, err := ensureNodePKI(cfg, st, log)
	if err != nil {
		return nil, nil, err
	}
	ecfg := embedded.Config{
		DataDir: cfg.DataDir, Name: cfg.NodeName, ClientHost: cfg.EtcdClientHost, ClientPort: cfg.EtcdClientPort,
		PeerPort: cfg.EtcdPeerPort, PeerHost: st.Address, TLS: &files, Maintenance: embedded.Maintenance{
			CompactionRetention: cfg.EtcdCompactionRetention, QuotaBytes: cfg.EtcdQuotaBytes,
			CheckInterval: cfg.EtcdMaintenanceInterval, Logger: log,
		},
	}
	if joined != nil {
		ecfg.InitialCluster = joined.InitialCluster
	}
	if err := restoreSnapshot(cfg, ecfg, joined != nil, log); err != nil {
		return nil, nil, err
	}
	emb, err := embedded.Start(ecfg)
	var stopped *embedded.StoppedError
	if errors.As(err, &stopped) && errors.Is(err, embedded.ErrMemberRemoved) && len(stopped.Others) > 0 {
		// Removed while this host was down: as when removed while it runs.
		becomeClient(cfg, stopped.Others, err, log)
		return connectAsClient(ctx, cfg, stopped.Others, opts, log)
	}
	if err != nil {
		return nil, nil, err
	}
	if joined != nil {
		if err := promoteSelf(ctx, cfg, files, joined.Endpoints, joined.MemberID, log); err != nil {
			log.Error("Could not become a voting member", "err", err)
		}
	}
	endpoints := append(append([]string{}, emb.Endpoints...), st.Endpoints...)
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{
		Endpoints: endpoints, CACertFile: files.CA, CertFile: files.Cert, KeyFile: files.Key, DialOptions: opts,
	})
	if err != nil {
		emb.Close()
		return nil, nil, err
	}
	joinCtx, stopJoins := context.WithCancel(ctx)
	if host, public := joinHost(cfg, st); public {
		if err := serveJoins(joinCtx, cfg, datastore.New(cli), host, log); err != nil {
			stopJoins()
			cli.Close()
			emb.Close()
			return nil, nil, err
		}
	}
	go followMember(joinCtx, cfg, emb, cli, stopJoins, log)
	log.Info("Started embedded etcd", "endpoints", emb.Endpoints, "dataDir", cfg.DataDir, "pki", pki.Dir(cfg.DataDir))
	return cli, func() { stopJoins(); cli.Close(); emb.Close() }, nil
}

// followMember waits for this host's member to stop by itself. Removed
// from the cluster (`calicoctl cluster remove-member` of this host), or
// stopped by a fatal error, it no longer serves etcd nor joins: the daemon
// says so, goes on as a client of the other members (those the member
// last knew) and, when removed, records this host as such a client, so
// that a restart does not bring a removed member back.
func followMember(ctx context.Context, cfg *Config, emb *embedded.Server, cli *clientv3.Client, stopJoins func(), log *slog.Logger) {
	select {
	case <-ctx.Done():
		return
	case <-emb.Lost():
	}
	others, err := emb.LostReason()
	stopJoins()
	emb.Close()
	if len(others) > 0 {
		cli.SetEndpoints(others...)
	}
	if !errors.Is(err, embedded.ErrMemberRemoved) {
		log.Error("This host's etcd member stopped on its own; using the other members' etcd: restart the daemon to start it again",
			"err", err, "members", others)
		return
	}
	becomeClient(cfg, others, err, log)
}

// becomeClient says that this host's member was removed and records the
// host as a client of the other members, so that a restart does not bring
// the removed member back.
func becomeClient(cfg *Config, others []string, err error, log *slog.Logger) {
	log.Error("This host's etcd member was removed from the cluster (calicoctl cluster remove-member): it no longer serves etcd "+
		"nor joins, and this host is from now on a client of the other members. To make it a member again: stop the daemon, "+
		"move <data_dir>/etcd and <data_dir>/cluster.json away, and start it with a new join token (calicoctl cluster token)",
		"err", err, "members", others, "dataDir", cfg.DataDir)
	if len(others) == 0 {
		return
	}
	if serr := saveClusterState(cfg.DataDir, clusterState{Role: cluster.RoleClient, Endpoints: others}); serr != nil {
		log.Error("Could not record this host as a client of the cluster", "err", serr)
	}
}

// restoreSnapshot restores etcd_restore_snapshot into a host that has no
// member yet: a fresh single member that other hosts then join.
func restoreSnapshot(cfg *Config, ecfg embedded.Config, joining bool, log *slog.Logger) error {
	switch {
	case cfg.EtcdRestoreSnapshot == "":
		return nil
	case joining:
		return configError("etcd_restore_snapshot", cfg.EtcdRestoreSnapshot, "a joining host takes the cluster's data: unset join_token or this")
	case embedded.HasData(cfg.DataDir):
		log.Warn("Ignoring etcd_restore_snapshot: this host already runs an etcd member (unset the setting)",
			"snapshot", cfg.EtcdRestoreSnapshot, "dataDir", cfg.DataDir)
		return nil
	}
	if err := embedded.Restore(ecfg, cfg.EtcdRestoreSnapshot); err != nil {
		return err
	}
	log.Warn("Restored etcd from a snapshot: this host is a new single-member cluster; other hosts join it with a new token",
		"snapshot", cfg.EtcdRestoreSnapshot)
	return nil
}

// joinHost is where the join endpoint listens, and whether this member
// is reachable from other hosts at all.
func joinHost(cfg *Config, st clusterState) (string, bool) {
	if ip := net.ParseIP(cfg.EtcdClientHost); ip != nil && !ip.IsLoopback() {
		return cfg.EtcdClientHost, true
	}
	if st.Address != "" {
		return "0.0.0.0", true
	}
	return "", false
}

// ensureNodePKI creates the cluster CA on the first start and (re)issues
// this node's certificate when it is missing or expiring.
func ensureNodePKI(cfg *Config, st clusterState, log *slog.Logger) (pki.Files, error) {
	dir := pki.Dir(cfg.DataDir)
	if _, err := os.Stat(filepath.Join(dir, pki.CACertFile)); err == nil && !pki.HasCAKey(dir) {
		return pki.NodeFiles(dir), nil // joined: the certificate came with the join
	}
	ca, created, err := pki.LoadOrCreateCA(dir, time.Now())
	if err != nil {
		return pki.Files{}, fmt.Errorf("cluster CA in %s: %w", dir, err)
	}
	if created {
		log.Info("Created the cluster CA", "dir", dir, "fingerprint", ca.Fingerprint())
	}
	if err := pki.EnsureNodeCert(dir, ca, cfg.NodeName, certIPs(cfg, st.Address), time.Now()); err != nil {
		return pki.Files{}, fmt.Errorf("node certificate in %s: %w", dir, err)
	}
	return pki.NodeFiles(dir), nil
}
