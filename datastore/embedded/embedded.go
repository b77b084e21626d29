// Package embedded runs the etcd server inside the daemon when no external
// etcd is configured. It is apart from package datastore so that everything
// else (calicoctl, the dataplane, the drivers) links only etcd's client:
// only the daemon and the tests import this package.
package embedded

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
)

// Config configures the etcd member the daemon runs when no ETCD_ENDPOINTS
// is given.
type Config struct {
	DataDir    string // its data lives in DataDir/etcd
	ClientHost string // default 127.0.0.1
	ClientPort int    // default 2379 (etcd_client_port)
	PeerPort   int    // default 2380
	Name       string // member name, default "calico"
	// PeerHost is the address other members reach this one at; default
	// 127.0.0.1 (a single member).
	PeerHost string
	// TLS are the CA and this member's certificate (package pki). With
	// them the client and peer URLs are https and every client and peer
	// must show a certificate from the CA. Without them the URLs are plain
	// http, which Start allows on loopback only (tests).
	TLS *pki.Files
	// InitialCluster, when set, starts this member in an existing cluster
	// whose members (this one included) it lists as name=peerURL,...
	InitialCluster string
	Maintenance    // compaction, quota, defragmentation (maintain.go)

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
	stop      chan struct{}
	done      chan struct{} // closed when the maintenance loop has stopped
	closeOnce sync.Once
	lost      chan struct{} // closed when the member stopped by itself (lost.go)
	lostErr   error
	others    []string
	clientTLS transport.TLSInfo // to ask the other members whether they removed this one (lost.go)
}

// Start starts etcd in-process and waits until it serves.
func Start(cfg Config) (*Server, error) {
	cfg.defaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	dir := filepath.Join(cfg.DataDir, "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd data dir %s: %w", dir, err)
	}
	ec, closing, adv := cfg.etcdConfig(dir)
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd on %s:%d (is port %d free? set etcd_client_port): %w", cfg.ClientHost, cfg.ClientPort, cfg.ClientPort, err)
	}
	s := &Server{etcd: e, closing: closing, Endpoints: []string{adv.String()}, stop: make(chan struct{}), done: make(chan struct{}),
		lost: make(chan struct{}), clientTLS: ec.ClientTLSInfo}
	select {
	case <-e.Server.ReadyNotify():
	case <-e.Server.StopNotify():
		return nil, s.stoppedStarting(dir)
	case <-time.After(30 * time.Second):
		e.Server.Stop()
		e.Close()
		return nil, errors.New("embedded etcd did not become ready within 30s")
	case err := <-e.Err():
		select {
		case <-e.Server.StoppingNotify():
			// The server stopping ends its listeners too (Err's "server
			// is stopping"): tell why it stopped.
			<-e.Server.StopNotify()
			return nil, s.stoppedStarting(dir)
		default:
		}
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	go s.maintain(cfg.Maintenance)
	go s.watchLost()
	return s, nil
}

// stoppedStarting is Start's error for a member that stopped by itself
// before it was ready. Removed from the cluster while this host was down,
// a member stops as soon as the others refuse it.
func (s *Server) stoppedStarting(dir string) error {
	s.whyStopped()
	s.closing.Store(true)
	s.etcd.Close()
	return &StoppedError{Others: s.others, Dir: dir, Err: s.lostErr}
}

// check refuses a configuration that would expose etcd without TLS.
func (cfg *Config) check() error {
	if cfg.TLS != nil {
		return nil
	}
	for _, h := range []string{cfg.ClientHost, cfg.PeerHost} {
		if ip := net.ParseIP(h); h != "" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("embedded etcd on %s without TLS would let anyone who reaches it rewrite policy: "+
				"give it the cluster's certificates (the daemon does so by itself from <data_dir>/pki)", h)
		}
	}
	return nil
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
	if cfg.PeerHost == "" {
		cfg.PeerHost = "127.0.0.1"
		if ip := net.ParseIP(cfg.ClientHost); ip != nil && !ip.IsLoopback() && !ip.IsUnspecified() {
			cfg.PeerHost = cfg.ClientHost
		}
	}
	cfg.Maintenance.defaults()
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
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
		tls := transport.TLSInfo{CertFile: cfg.TLS.Cert, KeyFile: cfg.TLS.Key, TrustedCAFile: cfg.TLS.CA, ClientCertAuth: true}
		ec.ClientTLSInfo, ec.PeerTLSInfo = tls, tls
	}
	clientURL := url.URL{Scheme: scheme, Host: net.JoinHostPort(cfg.ClientHost, strconv.Itoa(cfg.ClientPort))}
	adv = clientURL
	if ip := net.ParseIP(cfg.ClientHost); ip != nil && ip.IsUnspecified() {
		adv.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.ClientPort))
	}
	listen, advs := []url.URL{clientURL}, []url.URL{adv}
	peerListen := cfg.PeerHost
	if !isLoopback(cfg.PeerHost) {
		// Other hosts dial the client and peer URLs at the peer address;
		// this host's own clients keep dialing adv.
		public := url.URL{Scheme: scheme, Host: net.JoinHostPort(cfg.PeerHost, strconv.Itoa(cfg.ClientPort))}
		advs = []url.URL{public}
		if ip := net.ParseIP(cfg.ClientHost); cfg.ClientHost != cfg.PeerHost && (ip == nil || !ip.IsUnspecified()) {
			listen = append(listen, public)
		}
	}
	if !isLoopback(cfg.PeerHost) || !isLoopback(cfg.ClientHost) {
		// Reachable from other hosts: peers may join (TLS only, see check).
		peerListen = "0.0.0.0"
	}
	peerURL := url.URL{Scheme: scheme, Host: net.JoinHostPort(cfg.PeerHost, strconv.Itoa(cfg.PeerPort))}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = listen, advs
	ec.ListenPeerUrls = []url.URL{{Scheme: scheme, Host: net.JoinHostPort(peerListen, strconv.Itoa(cfg.PeerPort))}}
	ec.AdvertisePeerUrls = []url.URL{peerURL}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	if cfg.InitialCluster != "" {
		ec.InitialCluster, ec.ClusterState = cfg.InitialCluster, embed.ClusterStateFlagExisting
	}
	cfg.Maintenance.apply(ec)
	ec.UnsafeNoFsync = cfg.UnsafeNoFsync
	if cfg.FastElection {
		ec.TickMs, ec.ElectionMs = 10, 100
	}
	return ec, closing, adv
}

func isLoopback(h string) bool {
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Close stops the embedded etcd and waits for it to stop.
// It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.closing.Store(true)
		s.etcd.Close()
	})
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
