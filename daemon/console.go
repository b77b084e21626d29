package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/calico-docker/calico-libnetwork/console"
)

// ConsoleSettings: the web console (docs/console.md), off by default.
type ConsoleSettings struct {
	Console     bool   // console
	ConsoleAddr string // console_addr, default 127.0.0.1:9099
}

func (p *parser) consoleSettings() ConsoleSettings {
	c := ConsoleSettings{Console: p.boolean("console"), ConsoleAddr: p.hostPort("console_addr")}
	switch {
	case !c.Console:
	case c.ConsoleAddr == "":
		p.fail(configError("console_addr", "", "set host:port, such as 127.0.0.1:9099, or set console to false"))
	case c.ConsoleAddr == p.str("metrics_addr"):
		p.fail(configError("console_addr", c.ConsoleAddr, "use another port than metrics_addr: the console has its own listener, so metrics can be exposed without it"))
	}
	return c
}

// consoleServer serves the web console on console_addr and, beside it on
// the same origin, the read-only flows API (/api/v1/) the page calls. Its
// methods do nothing on a nil server (console off).
type consoleServer struct {
	srv      *http.Server
	addr     net.Addr
	api      atomic.Pointer[http.Handler]
	loopback bool // bound to loopback only: accept only loopback Host names
	log      *slog.Logger
}

// startConsole listens on console_addr when console is on.
func startConsole(cfg *Config, log *slog.Logger) (*consoleServer, error) {
	if !cfg.Console {
		return nil, nil
	}
	l, err := net.Listen("tcp", cfg.ConsoleAddr)
	if err != nil {
		return nil, configError("console_addr", cfg.ConsoleAddr, fmt.Sprintf("cannot listen there (%v); use a free host:port", err))
	}
	c := &consoleServer{addr: l.Addr(), log: log}
	if ta, ok := l.Addr().(*net.TCPAddr); ok {
		c.loopback = ta.IP.IsLoopback()
	}
	c.srv = &http.Server{Handler: c.handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go func() {
		if err := c.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("The web console stopped serving", "addr", cfg.ConsoleAddr, "err", err)
		}
	}()
	log.Info("Serving the web console", "url", "http://"+l.Addr().String()+console.Prefix)
	return c, nil
}

func (c *consoleServer) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, console.Handler())
	mux.HandleFunc("/api/v1/", c.serveAPI)
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, console.Prefix, http.StatusFound)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.loopback && !loopbackHost(r.Host) {
			// A page elsewhere must not read the console through a DNS
			// name that resolves to 127.0.0.1 (DNS rebinding).
			consoleError(w, http.StatusMisdirectedRequest, fmt.Sprintf("host %q: the console listens on loopback only; open it as http://%s%s", r.Host, c.addr, console.Prefix))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// setAPI makes the console's listener answer /api/v1/ with the flows API
// (the handler the metrics listener serves too).
func (c *consoleServer) setAPI(h http.Handler) {
	if c != nil && h != nil {
		c.api.Store(&h)
	}
}

func (c *consoleServer) serveAPI(w http.ResponseWriter, r *http.Request) {
	if h := c.api.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	consoleError(w, http.StatusServiceUnavailable, "flows API: not served yet; the daemon is still starting, or flow logs are off (see docs/console.md)")
}

func (c *consoleServer) close() {
	if c == nil {
		return
	}
	if err := c.srv.Close(); err != nil { // streams never end by themselves: no graceful wait
		c.log.Warn("Stopping the web console", "err", err)
	}
}

// consoleError answers as the flows API does: {"error": "..."}.
func consoleError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// loopbackHost: a Host header naming this machine by a loopback name.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
