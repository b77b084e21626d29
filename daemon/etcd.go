package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
)

// EtcdSettings are the embedded etcd's upkeep settings (etcd_* keys).
type EtcdSettings struct {
	EtcdCompactionRetention time.Duration // etcd_compaction_retention
	EtcdQuotaBytes          int64         // etcd_quota_bytes
	EtcdMaintenanceInterval time.Duration // etcd_maintenance_interval
}

func (p *parser) etcdSettings() EtcdSettings {
	return EtcdSettings{
		EtcdCompactionRetention: p.duration("etcd_compaction_retention"),
		EtcdQuotaBytes:          int64(p.intIn("etcd_quota_bytes", 16<<20, 8<<30)),
		EtcdMaintenanceInterval: p.duration("etcd_maintenance_interval"),
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

// openEtcd connects to ETCD_ENDPOINTS, or starts the embedded etcd with
// TLS and client-certificate auth from the cluster CA in <data_dir>/pki
// (created on the first start).
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
	files, err := ensureNodePKI(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	emb, err := embedded.Start(embedded.Config{
		DataDir: cfg.DataDir, ClientHost: cfg.EtcdClientHost, ClientPort: cfg.EtcdClientPort, PeerPort: cfg.EtcdPeerPort,
		TLS: &files, Maintenance: embedded.Maintenance{
			CompactionRetention: cfg.EtcdCompactionRetention, QuotaBytes: cfg.EtcdQuotaBytes,
			CheckInterval: cfg.EtcdMaintenanceInterval, Logger: log,
		},
	})
	if err != nil {
		return nil, nil, err
	}
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{
		Endpoints: emb.Endpoints, CACertFile: files.CA, CertFile: files.Cert, KeyFile: files.Key, DialOptions: opts,
	})
	if err != nil {
		emb.Close()
		return nil, nil, err
	}
	log.Info("Started embedded etcd", "endpoints", emb.Endpoints, "dataDir", cfg.DataDir, "pki", pki.Dir(cfg.DataDir))
	return cli, func() { cli.Close(); emb.Close() }, nil
}

// ensureNodePKI creates the cluster CA on the first start and (re)issues
// this node's certificate when it is missing or expiring.
func ensureNodePKI(cfg *Config, log *slog.Logger) (pki.Files, error) {
	dir := pki.Dir(cfg.DataDir)
	ca, created, err := pki.LoadOrCreateCA(dir, time.Now())
	if err != nil {
		return pki.Files{}, fmt.Errorf("cluster CA in %s: %w", dir, err)
	}
	if created {
		log.Info("Created the cluster CA", "dir", dir, "fingerprint", ca.Fingerprint())
	}
	var ips []net.IP
	if ip := net.ParseIP(cfg.EtcdClientHost); ip != nil && !ip.IsUnspecified() {
		ips = append(ips, ip)
	}
	if err := pki.EnsureNodeCert(dir, ca, cfg.NodeName, ips, time.Now()); err != nil {
		return pki.Files{}, fmt.Errorf("node certificate in %s: %w", dir, err)
	}
	return pki.NodeFiles(dir), nil
}
