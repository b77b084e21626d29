package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/docker/go-plugins-helpers/sdk"
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
const MaxRequestBytes = 64 << 10

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
	mux.HandleFunc("POST /Plugin.Activate", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
		_, _ = io.WriteString(w, Manifest+"\n")
	})
	// Docker sends GetCapabilities with an empty body.
	mux.HandleFunc("POST /NetworkDriver.GetCapabilities", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, "GetCapabilities", d.GetCapabilities(), nil)
	})
	route(d, mux, "CreateNetwork", noAnswer(d.CreateNetwork))
	route(d, mux, "DeleteNetwork", noAnswer(d.DeleteNetwork))
	route(d, mux, "CreateEndpoint", d.CreateEndpoint)
	route(d, mux, "DeleteEndpoint", noAnswer(d.DeleteEndpoint))
	route(d, mux, "EndpointOperInfo", d.EndpointInfo)
	route(d, mux, "Join", d.Join)
	route(d, mux, "Leave", noAnswer(d.Leave))
	route(d, mux, "AllocateNetwork", func(context.Context, *network.AllocateNetworkRequest) (struct{}, error) {
		return struct{}{}, errSwarm
	})
	route(d, mux, "FreeNetwork", noAnswer(func(context.Context, *network.FreeNetworkRequest) error { return errSwarm }))
	// Notifications and external connectivity need nothing: workloads are
	// routed, no ports are published or NATed by the driver.
	route(d, mux, "DiscoverNew", noAnswer(ignore[network.DiscoveryNotification]))
	route(d, mux, "DiscoverDelete", noAnswer(ignore[network.DiscoveryNotification]))
	route(d, mux, "ProgramExternalConnectivity", noAnswer(ignore[network.ProgramExternalConnectivityRequest]))
	route(d, mux, "RevokeExternalConnectivity", noAnswer(ignore[network.RevokeExternalConnectivityRequest]))
	mux.HandleFunc("/", unknownRequest)
	return mux
}

// unknownRequest answers any other path or HTTP method.
func unknownRequest(w http.ResponseWriter, r *http.Request) {
	msg := fmt.Sprintf("calico: unknown plugin request %s %s: the calico network driver serves POST /Plugin.Activate and "+
		"POST /NetworkDriver.{%s}; is the Docker engine newer than the plugin?", r.Method, r.URL.Path, strings.Join(methods, ","))
	writeErr(w, http.StatusNotFound, msg)
}

func ignore[Req any](context.Context, *Req) error { return nil }

// noAnswer adapts a method that answers nothing but success ({}).
func noAnswer[Req any](fn func(context.Context, *Req) error) func(context.Context, *Req) (struct{}, error) {
	return func(ctx context.Context, r *Req) (struct{}, error) { return struct{}{}, fn(ctx, r) }
}

// route registers /NetworkDriver.<method>: decode strictly, call fn under
// the request's deadline, reply.
func route[Req, Resp any](d *Driver, mux *http.ServeMux, method string, fn func(context.Context, *Req) (Resp, error)) {
	mux.HandleFunc("POST /NetworkDriver."+method, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		req := new(Req)
		if err := decode(w, r, req); err != nil {
			d.log.Warn("Refused a malformed request", "method", method, "err", err)
			writeErr(w, http.StatusBadRequest, fmt.Sprintf("calico %s: %v", method, err))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
		defer cancel()
		resp, err := fn(ctx, req)
		d.log.Debug(method, "request", req, "response", resp, "err", err, "took", time.Since(start))
		reply(w, method, resp, err)
	})
}

// decode reads one JSON object with only the known fields.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("request body is larger than %d bytes; Docker's requests are far smaller", MaxRequestBytes)
		}
		return fmt.Errorf("read request body: %w", err)
	}
	return decodeBody(body, v)
}

// decodeBody decodes body into v strictly: one JSON object, only the
// fields v has, nothing after it.
func decodeBody(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("request body must be a JSON object, got %.40q", trimmed)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed request body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("malformed request body: data after the JSON object")
	}
	return nil
}

func reply(w http.ResponseWriter, method string, resp any, err error) {
	if err != nil {
		writeErr(w, http.StatusInternalServerError, fmt.Sprintf("calico %s: %v", method, err))
		return
	}
	w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
	_ = json.NewEncoder(w).Encode(resp)
}

// writeErr answers as Docker's plugin client expects: non-200 and {"Err": msg}.
func writeErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(network.ErrorResponse{Err: msg})
}
