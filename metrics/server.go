package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// Server is the HTTP server of /metrics, /healthz and /readyz.
type Server struct {
	srv  *http.Server
	l    net.Listener
	done chan error
}

// Serve listens on addr (host:port; use localhost:9091 to keep it on the
// host) and serves m.Handler() until Close.
func (m *Metrics) Serve(addr string) (*Server, error) { return m.serve(addr, m.Handler()) }

// ServeWithPprof is Serve plus Go's profiler under /debug/pprof/ (CPU and
// heap profiles, goroutine dumps). Profiles reveal internals and cost CPU
// while taken: serve them only on an address the operator trusts.
func (m *Metrics) ServeWithPprof(addr string) (*Server, error) {
	mux := http.NewServeMux()
	mux.Handle("/", m.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m.serve(addr, mux)
}

func (m *Metrics) serve(addr string, h http.Handler) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address %s: %w (set metrics_addr to a free host:port, or empty to turn metrics off)", addr, err)
	}
	s := &Server{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		l:    l,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Addr is the address the server listens on (useful with port 0).
func (s *Server) Addr() net.Addr { return s.l.Addr() }

// Close stops the server, letting requests in progress finish for up to 5s.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
