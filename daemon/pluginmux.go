package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-plugins-helpers/sdk"
)

// Serving the plugin protocol. Every driver is reached through an
// http.Handler, so the metrics middleware can wrap it and, with
// single_socket, one socket can carry both drivers: a Docker managed
// plugin has exactly one socket, and its name is the driver name for both
// network and IPAM. Plugin.Activate on a shared socket lists both.

// singleManifest is the Activate answer of a socket serving both drivers.
const singleManifest = `{"Implements": ["NetworkDriver", "IpamDriver"]}`

// servePlugins serves the network and IPAM handlers, each wrapped by
// wrap: on calico.sock and calico-ipam.sock, or both on calico.sock.
func servePlugins(cfg *Config, network, ipam http.Handler, wrap func(http.Handler) http.Handler, log *slog.Logger) ([]*socket, error) {
	if cfg.SingleSocket {
		s, err := serveSocket(cfg.PluginDir, NetworkPluginName, httpServer{wrap(bothDrivers(network, ipam))}, log)
		if err != nil {
			return nil, err
		}
		return []*socket{s}, nil
	}
	netSock, err := serveSocket(cfg.PluginDir, NetworkPluginName, httpServer{wrap(network)}, log)
	if err != nil {
		return nil, err
	}
	ipamSock, err := serveSocket(cfg.PluginDir, IPAMPluginName, httpServer{wrap(ipam)}, log)
	if err != nil {
		netSock.Close()
		return nil, err
	}
	return []*socket{netSock, ipamSock}, nil
}

// bothDrivers routes /NetworkDriver.* and /IpamDriver.* to their handlers
// and answers Activate with both interfaces.
func bothDrivers(network, ipam http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/Plugin.Activate":
			w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
			_, _ = io.WriteString(w, singleManifest+"\n")
		case strings.HasPrefix(p, "/NetworkDriver."):
			network.ServeHTTP(w, r)
		case strings.HasPrefix(p, "/IpamDriver."):
			ipam.ServeHTTP(w, r)
		default:
			pluginError(w, http.StatusNotFound, fmt.Sprintf("calico: unknown plugin request %s", p))
		}
	})
}

// pluginError answers as Docker's plugin client expects: {"Err": msg}.
func pluginError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct{ Err string }{msg})
}

// httpServer serves an http.Handler on a listener (the server interface
// of serveSocket).
type httpServer struct{ h http.Handler }

func (s httpServer) Serve(l net.Listener) error {
	return (&http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}).Serve(l)
}

// handlerOf turns a server that can only Serve a net.Listener (the
// go-plugins-helpers network handler keeps its mux private) into an
// http.Handler: the server runs on an in-memory listener and requests are
// proxied to it over pipes. stop ends it.
func handlerOf(srv server) (h http.Handler, stop func()) {
	l := newPipeListener()
	done := make(chan struct{})
	go func() { _ = srv.Serve(l); close(done) }()
	tr := &http.Transport{DialContext: l.dial, MaxIdleConnsPerHost: 8, IdleConnTimeout: time.Minute}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "plugin"
		},
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			pluginError(w, http.StatusBadGateway, fmt.Sprintf("calico: %s: %v", r.URL.Path, err))
		},
	}
	return proxy, func() { l.Close(); tr.CloseIdleConnections(); <-done }
}

// pipeListener is a net.Listener whose connections are in-memory pipes
// made by dial.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, net.ErrClosed
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "in-memory" }
