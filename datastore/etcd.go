package datastore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
)

// EtcdConfig says how to reach an external etcd cluster.
type EtcdConfig struct {
	Endpoints   []string // ETCD_ENDPOINTS, comma-separated in the environment
	CACertFile  string   // ETCD_CA_CERT_FILE
	CertFile    string   // ETCD_CERT_FILE
	KeyFile     string   // ETCD_KEY_FILE
	DialTimeout time.Duration
	DialOptions []grpc.DialOption // extra gRPC options, e.g. the metrics interceptors
}

// Connect opens a client and checks the cluster answers.
func Connect(ctx context.Context, cfg EtcdConfig) (*clientv3.Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints: set ETCD_ENDPOINTS (e.g. http://127.0.0.1:2379)")
	}
	for _, ep := range cfg.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("etcd endpoint %q: use the form http(s)://host:port", ep)
		}
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	var tlsCfg *tls.Config
	if cfg.CACertFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" {
		if (cfg.CertFile == "") != (cfg.KeyFile == "") {
			return nil, errors.New("etcd TLS: set both ETCD_CERT_FILE and ETCD_KEY_FILE, or neither")
		}
		info := transport.TLSInfo{TrustedCAFile: cfg.CACertFile, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile}
		var err error
		if tlsCfg, err = info.ClientConfig(); err != nil {
			return nil, fmt.Errorf("etcd TLS files: %w", err)
		}
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: cfg.Endpoints, DialTimeout: cfg.DialTimeout, TLS: tlsCfg,
		Logger: zap.NewNop(), DialKeepAliveTime: 10 * time.Second, DialOptions: cfg.DialOptions,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", cfg.Endpoints, err)
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Get(cctx, Prefix+"/ping"); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd %v does not answer: %w (is it running and is ETCD_ENDPOINTS right?)", cfg.Endpoints, err)
	}
	return cli, nil
}

// ParseEndpoints splits a comma-separated ETCD_ENDPOINTS value.
func ParseEndpoints(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
