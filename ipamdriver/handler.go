package ipamdriver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	dipam "github.com/docker/go-plugins-helpers/ipam"
	"github.com/docker/go-plugins-helpers/sdk"
)

// MaxRequestBytes bounds a request body; Docker's are a few hundred bytes.
const MaxRequestBytes = 64 << 10

// RequestTimeout bounds the work done for one request. Each etcd call has
// its own shorter deadline (ipam.DefaultCallTimeout), so with etcd down a
// request fails in a few seconds saying so; this bounds the rest (waiting
// behind the node's other IPAM requests). Docker gives up after 30s.
const RequestTimeout = 10 * time.Second

const manifest = `{"Implements": ["IpamDriver"]}`

// Handler returns the HTTP handler of the plugin protocol, to serve on the
// plugin's unix socket (e.g. /run/docker/plugins/calico-ipam.sock).
func (d *Driver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /Plugin.Activate", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
		_, _ = io.WriteString(w, manifest+"\n")
	})
	// Docker sends these two with an empty body.
	mux.HandleFunc("POST /IpamDriver.GetCapabilities", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, "GetCapabilities", d.Capabilities(), nil)
	})
	mux.HandleFunc("POST /IpamDriver.GetDefaultAddressSpaces", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, "GetDefaultAddressSpaces", d.AddressSpaces(), nil)
	})
	route(mux, "RequestPool", d.RequestPoolContext)
	route(mux, "ReleasePool", func(ctx context.Context, r *dipam.ReleasePoolRequest) (struct{}, error) {
		return struct{}{}, d.ReleasePoolContext(ctx, r)
	})
	route(mux, "RequestAddress", d.RequestAddressContext)
	route(mux, "ReleaseAddress", func(ctx context.Context, r *dipam.ReleaseAddressRequest) (struct{}, error) {
		return struct{}{}, d.ReleaseAddressContext(ctx, r)
	})
	return mux
}

// Serve serves the plugin protocol on l until l is closed; with it a
// Driver is served like go-plugins-helpers' handlers (Serve(net.Listener)).
func (d *Driver) Serve(l net.Listener) error {
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(l)
}

// route registers /IpamDriver.<method>: decode strictly, call fn, reply.
func route[Req, Resp any](mux *http.ServeMux, method string, fn func(context.Context, *Req) (Resp, error)) {
	mux.HandleFunc("POST /IpamDriver."+method, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		req := new(Req)
		if err := decode(w, r, req); err != nil {
			slog.Warn("ipamdriver: refused a malformed request", "method", method, "err", err)
			writeErr(w, http.StatusBadRequest, fmt.Sprintf("calico-ipam %s: %v", method, err))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), RequestTimeout)
		defer cancel()
		resp, err := fn(ctx, req)
		slog.Info("ipamdriver: "+method, "request", req, "response", resp, "err", err, "took", time.Since(start))
		reply(w, method, resp, err)
	})
}

// decode reads one JSON object with only the known fields.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("request body is larger than %d bytes", MaxRequestBytes)
		}
		return fmt.Errorf("read request body: %w", err)
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("request body must be a JSON object, got %.40q", trimmed)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed request body: %v", err)
	}
	if dec.More() {
		return errors.New("malformed request body: data after the JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("malformed request body: data after the JSON object")
	}
	return nil
}

func reply(w http.ResponseWriter, method string, resp any, err error) {
	if err != nil {
		writeErr(w, http.StatusInternalServerError, fmt.Sprintf("calico-ipam %s: %v", method, err))
		return
	}
	w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
	_ = json.NewEncoder(w).Encode(resp)
}

// writeErr answers as Docker's plugin client expects: non-200 and {"Err": msg}.
func writeErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(dipam.ErrorResponse{Err: msg})
}
