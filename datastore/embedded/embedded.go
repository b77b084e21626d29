// Package embedded runs the etcd server inside the daemon when no external
// etcd is configured. It is apart from package datastore so that everything
// else (calicoctl, the dataplane, the drivers) links only etcd's client:
// only the daemon and the tests import this package.
package embedded

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config configures the etcd member the daemon runs when no ETCD_ENDPOINTS
// is given.
type Config struct {
	DataDir    string // its data lives in DataDir/etcd
	ClientHost string // default 127.0.0.1
	ClientPort int    // default 2379 (etcd_client_port)
	PeerPort   int    // default 2380
	Name       string // member name, default "calico"

	// Test-only speed-ups: no fsync, and a short election tick so a
	// single member elects itself at once.
	UnsafeNoFsync bool
	FastElection  bool
	// Quiet silences etcd's logs entirely (tests); otherwise errors go to stderr.
	Quiet bool
}

// Server is a running in-process etcd.
type Server struct {
	etcd      *embed.Etcd
	closing   *atomic.Bool
	Endpoints []string // client URLs to dial
}

// Start starts etcd in-process and waits until it serves.
func Start(cfg Config) (*Server, error) {
	cfg.defaults()
	dir := filepath.Join(cfg.DataDir, "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd data dir %s: %w", dir, err)
	}
	ec, closing, adv := cfg.etcdConfig(dir)
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd on %s:%d (is port %d free? set etcd_client_port): %w", cfg.ClientHost, cfg.ClientPort, cfg.ClientPort, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Server.Stop()
		e.Close()
		return nil, errors.New("embedded etcd did not become ready within 30s")
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	return &Server{etcd: e, closing: closing, Endpoints: []string{adv.String()}}, nil
}

func (cfg *Config) defaults() {
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
}

// etcdConfig builds etcd's configuration; adv is the client URL to dial.
func (cfg *Config) etcdConfig(dir string) (ec *embed.Config, closing *atomic.Bool, adv url.URL) {
	ec = embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = dir
	ec.LogLevel = "error"
	ec.Logger = "zap"
	closing = new(atomic.Bool)
	ec.ZapLoggerBuilder = quietOnClose(closing, cfg.Quiet)
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", cfg.ClientHost, cfg.ClientPort)}
	adv = clientURL
	if cfg.ClientHost == "0.0.0.0" {
		adv.Host = fmt.Sprintf("127.0.0.1:%d", cfg.ClientPort)
	}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", cfg.PeerPort)}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{clientURL}, []url.URL{adv}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{peerURL}, []url.URL{peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	if cfg.FastElection {
		ec.TickMs, ec.ElectionMs = 10, 100
	}
	return ec, closing, adv
}

// Close stops the embedded etcd and waits for it to stop.
func (s *Server) Close() {
	s.closing.Store(true)
	s.etcd.Close()
}

// quietOnClose builds etcd's logger (errors only, to stderr) and silences
// it once closing is set: on a normal stop etcd logs its listeners'
// "use of closed network connection" as errors.
func quietOnClose(closing *atomic.Bool, quiet bool) func(*embed.Config) error {
	return func(c *embed.Config) error {
		if quiet {
			return embed.NewZapLoggerBuilder(zap.NewNop())(c)
		}
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
