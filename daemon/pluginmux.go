package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/docker/go-plugins-helpers/sdk"
)

// Serving the plugin protocol. Each driver is its own strict
// http.Handler (driver.Handler, ipamdriver.Handler), served directly by
// one HTTP server per socket, wrapped by the metrics middleware. With
// single_socket one socket carries both drivers: a Docker managed plugin
// has exactly one socket, and its name is the driver name for both
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
