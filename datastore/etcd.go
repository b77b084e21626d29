package datastore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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

// EmbeddedConfig configures the single-node etcd the daemon runs when no
// ETCD_ENDPOINTS is given.
type EmbeddedConfig struct {
	DataDir    string // its data lives in DataDir/etcd
	ClientHost string // default 127.0.0.1; 0.0.0.0 lets other hosts join
	ClientPort int    // default 2379 (etcd_client_port)
	PeerPort   int    // default 2380
	Name       string // member name, default "calico"
}

// Embedded is a running in-process etcd.
type Embedded struct {
	etcd      *embed.Etcd
	closing   *atomic.Bool
	Endpoints []string
}

// StartEmbedded starts etcd in-process and waits until it serves.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.ClientHost == "" {
		cfg.ClientHost = "127.0.0.1"
	}
	if cfg.ClientPort == 0 {
		cfg.ClientPort = 2379
	}
	if cfg.PeerPort == 0 {
		cfg.PeerPort = 2380
	}
	if cfg.Name == "" {
		cfg.Name = "calico"
	}
	dir := filepath.Join(cfg.DataDir, "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd data dir %s: %w", dir, err)
	}
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = dir
	ec.LogLevel = "error"
	ec.Logger = "zap"
	closing := new(atomic.Bool)
	ec.ZapLoggerBuilder = quietOnClose(closing)
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", cfg.ClientHost, cfg.ClientPort)}
	adv := clientURL
	if cfg.ClientHost == "0.0.0.0" {
		adv.Host = fmt.Sprintf("127.0.0.1:%d", cfg.ClientPort)
	}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cfg.PeerPort)}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{clientURL}, []url.URL{adv}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{peerURL}, []url.URL{peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd on %s (is port %d free? set etcd_client_port): %w", clientURL.Host, cfg.ClientPort, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, errors.New("embedded etcd did not become ready within 30s")
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	return &Embedded{etcd: e, closing: closing, Endpoints: []string{adv.String()}}, nil
}

// Close stops the embedded etcd.
func (e *Embedded) Close() {
	e.closing.Store(true)
	e.etcd.Close()
}

// quietOnClose builds etcd's logger (errors only, to stderr) and silences
// it once closing is set: on a normal stop etcd logs its listeners'
// "use of closed network connection" as errors.
func quietOnClose(closing *atomic.Bool) func(*embed.Config) error {
	return func(c *embed.Config) error {
		enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
		core := zapcore.NewCore(enc, zapcore.Lock(os.Stderr), zap.ErrorLevel)
		logger := zap.New(&closingCore{Core: core, closing: closing})
		return embed.NewZapLoggerBuilder(logger)(c)
	}
}

// closingCore drops every entry once closing is set.
type closingCore struct {
	zapcore.Core
	closing *atomic.Bool
}

func (c *closingCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.closing.Load() {
		return ce
	}
	return c.Core.Check(e, ce)
}

func (c *closingCore) With(fields []zapcore.Field) zapcore.Core {
	return &closingCore{Core: c.Core.With(fields), closing: c.closing}
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
