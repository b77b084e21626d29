package driver

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/internal/pluginhttp"
)

// The remote network-driver protocol, served by one strict handler (the
// request and response types are go-plugins-helpers' network package,
// which mirrors libnetwork's remote/api; its handler is not used). Every
// request body is one JSON object of the method's request type, at most
// MaxRequestBytes, with no unknown fields and nothing after it; a refused
// request is answered before the driver sees it, so it changes nothing.
// Every failure is a non-200 answer with {"Err": "..."} naming what was
// wrong and what to do. Each request runs under a context with the
// driver's RequestTimeout.

// MaxRequestBytes bounds a request body; Docker's are a few hundred bytes.
const MaxRequestBytes = pluginhttp.MaxRequestBytes

// Manifest is the answer to /Plugin.Activate of a socket serving only the
// network driver.
const Manifest = `{"Implements": ["NetworkDriver"]}`

// methods lists every /NetworkDriver.<method> the handler serves.
var methods = []string{"GetCapabilities", "CreateNetwork", "AllocateNetwork", "DeleteNetwork", "FreeNetwork",
	"CreateEndpoint", "DeleteEndpoint", "EndpointOperInfo", "Join", "Leave", "DiscoverNew", "DiscoverDelete",
	"ProgramExternalConnectivity", "RevokeExternalConnectivity"}

// Handler returns the HTTP handler of the network-driver protocol, to serve
// on the plugin's unix socket (e.g. /run/docker/plugins/calico.sock).
func (d *Driver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Plugin.Activate", pluginhttp.Activate(Manifest))
	// Docker sends GetCapabilities with an empty body.
	mux.HandleFunc("POST /NetworkDriver.GetCapabilities", func(w http.ResponseWriter, _ *http.Request) {
		pluginhttp.Reply(w, d.GetCapabilities())
	})
	rt := pluginhttp.Routes{Mux: mux, Interface: "NetworkDriver", Name: "calico", Timeout: d.timeout, Log: d.logRequest}
	pluginhttp.Route(rt, "CreateNetwork", noAnswer(d.CreateNetwork))
	pluginhttp.Route(rt, "DeleteNetwork", noAnswer(d.DeleteNetwork))
	pluginhttp.Route(rt, "CreateEndpoint", d.CreateEndpoint)
	pluginhttp.Route(rt, "DeleteEndpoint", noAnswer(d.DeleteEndpoint))
	pluginhttp.Route(rt, "EndpointOperInfo", d.EndpointInfo)
	pluginhttp.Route(rt, "Join", d.Join)
	pluginhttp.Route(rt, "Leave", noAnswer(d.Leave))
	pluginhttp.Route(rt, "AllocateNetwork", func(context.Context, *network.AllocateNetworkRequest) (struct{}, error) {
		return struct{}{}, errSwarm
	})
	pluginhttp.Route(rt, "FreeNetwork", noAnswer(func(context.Context, *network.FreeNetworkRequest) error { return errSwarm }))
	// Notifications and external connectivity need nothing: workloads are
	// routed, no ports are published or NATed by the driver.
	pluginhttp.Route(rt, "DiscoverNew", noAnswer(ignore[network.DiscoveryNotification]))
	pluginhttp.Route(rt, "DiscoverDelete", noAnswer(ignore[network.DiscoveryNotification]))
	pluginhttp.Route(rt, "ProgramExternalConnectivity", noAnswer(ignore[network.ProgramExternalConnectivityRequest]))
	pluginhttp.Route(rt, "RevokeExternalConnectivity", noAnswer(ignore[network.RevokeExternalConnectivityRequest]))
	mux.HandleFunc("/", pluginhttp.Unknown("calico", "POST /Plugin.Activate and POST /NetworkDriver.{"+strings.Join(methods, ",")+"}"))
	return mux
}

// logRequest logs a refused request (the driver's methods log their own
// outcomes) and every request at debug level.
func (d *Driver) logRequest(method string, req, resp any, err error, took time.Duration) {
	if req == nil {
		d.log.Warn("Refused a malformed request", "method", method, "err", err)
		return
	}
	d.log.Debug(method, "request", req, "response", resp, "err", err, "took", took)
}

func ignore[Req any](context.Context, *Req) error { return nil }

// noAnswer adapts a method that answers nothing but success ({}).
func noAnswer[Req any](fn func(context.Context, *Req) error) func(context.Context, *Req) (struct{}, error) {
	return func(ctx context.Context, r *Req) (struct{}, error) { return struct{}{}, fn(ctx, r) }
}
