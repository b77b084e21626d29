package ipamdriver

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	dipam "github.com/docker/go-plugins-helpers/ipam"

	"github.com/calico-docker/calico-libnetwork/internal/pluginhttp"
)

// MaxRequestBytes bounds a request body; Docker's are a few hundred bytes.
const MaxRequestBytes = pluginhttp.MaxRequestBytes

// RequestTimeout bounds the work done for one request. Each etcd call has
// its own shorter deadline (ipam.DefaultCallTimeout), so with etcd down a
// request fails in a few seconds saying so; this bounds the rest (waiting
// behind the node's other IPAM requests). Docker gives up after 30s.
const RequestTimeout = 10 * time.Second

const manifest = `{"Implements": ["IpamDriver"]}`

// Handler returns the HTTP handler of the plugin protocol, to serve on the
// plugin's unix socket (e.g. /run/docker/plugins/calico-ipam.sock).
// Requests are decoded strictly and answered by package pluginhttp.
func (d *Driver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Plugin.Activate", pluginhttp.Activate(manifest))
	// Docker sends these two with an empty body.
	mux.HandleFunc("POST /IpamDriver.GetCapabilities", func(w http.ResponseWriter, _ *http.Request) {
		pluginhttp.Reply(w, d.Capabilities())
	})
	mux.HandleFunc("POST /IpamDriver.GetDefaultAddressSpaces", func(w http.ResponseWriter, _ *http.Request) {
		pluginhttp.Reply(w, d.AddressSpaces())
	})
	rt := pluginhttp.Routes{Mux: mux, Interface: "IpamDriver", Name: "calico-ipam", Timeout: RequestTimeout, Log: logRequest}
	pluginhttp.Route(rt, "RequestPool", d.RequestPoolContext)
	pluginhttp.Route(rt, "ReleasePool", func(ctx context.Context, r *dipam.ReleasePoolRequest) (struct{}, error) {
		return struct{}{}, d.ReleasePoolContext(ctx, r)
	})
	pluginhttp.Route(rt, "RequestAddress", d.RequestAddressContext)
	pluginhttp.Route(rt, "ReleaseAddress", func(ctx context.Context, r *dipam.ReleaseAddressRequest) (struct{}, error) {
		return struct{}{}, d.ReleaseAddressContext(ctx, r)
	})
	mux.HandleFunc("/", pluginhttp.Unknown("calico-ipam", "POST /Plugin.Activate and POST /IpamDriver.{GetCapabilities,"+
		"GetDefaultAddressSpaces,RequestPool,ReleasePool,RequestAddress,ReleaseAddress}"))
	return mux
}

// Serve serves the plugin protocol on l until l is closed; with it a
// Driver is served like go-plugins-helpers' handlers (Serve(net.Listener)).
func (d *Driver) Serve(l net.Listener) error {
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(l)
}

func logRequest(method string, req, resp any, err error, took time.Duration) {
	if req == nil {
		slog.Warn("ipamdriver: refused a malformed request", "method", method, "err", err)
		return
	}
	slog.Info("ipamdriver: "+method, "request", req, "response", resp, "err", err, "took", took)
}
