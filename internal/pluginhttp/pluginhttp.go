// Package pluginhttp is the HTTP side of Docker's plugin protocol shared by
// the network driver (package driver) and the IPAM driver (package
// ipamdriver): strict request decoding, {"Err": ...} answers, and one
// route per method with a deadline per request.
//
// Docker POSTs one JSON object to /<Interface>.<Method> and reads the
// answer as JSON; a failure is a non-200 answer with {"Err": "..."},
// which Docker shows to the user. A request body here is at most
// MaxRequestBytes, holds only the fields of the method's request type and
// nothing after the object; anything else is refused (400) before the
// driver sees it, so a refused request changes nothing.
package pluginhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/docker/go-plugins-helpers/sdk"
)

// MaxRequestBytes bounds a request body; Docker's are a few hundred bytes.
const MaxRequestBytes = 64 << 10

// Routes registers the methods of one plugin interface on a mux.
type Routes struct {
	Mux       *http.ServeMux
	Interface string        // "NetworkDriver", "IpamDriver"
	Name      string        // prefixes error messages: "calico", "calico-ipam"
	Timeout   time.Duration // bounds each request's context
	// Log reports each request handled (refused ones too, with a nil
	// response).
	Log func(method string, req, resp any, err error, took time.Duration)
}

// Route registers POST /<Interface>.<method>: decode the body strictly into
// a new Req, call fn under the request's deadline, answer.
func Route[Req, Resp any](rt Routes, method string, fn func(context.Context, *Req) (Resp, error)) {
	rt.Mux.HandleFunc("POST /"+rt.Interface+"."+method, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		req := new(Req)
		if err := Decode(w, r, req); err != nil {
			rt.Log(method, nil, nil, err, time.Since(start))
			WriteErr(w, http.StatusBadRequest, fmt.Sprintf("%s %s: %v", rt.Name, method, err))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), rt.Timeout)
		defer cancel()
		resp, err := fn(ctx, req)
		rt.Log(method, req, resp, err, time.Since(start))
		if err != nil {
			WriteErr(w, http.StatusInternalServerError, fmt.Sprintf("%s %s: %v", rt.Name, method, err))
			return
		}
		Reply(w, resp)
	})
}

// Activate answers /Plugin.Activate with manifest.
func Activate(manifest string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
		_, _ = io.WriteString(w, manifest+"\n")
	}
}

// Decode reads one JSON object with only the known fields.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("request body is larger than %d bytes; Docker's requests are far smaller", MaxRequestBytes)
		}
		return fmt.Errorf("read request body: %w", err)
	}
	return DecodeBody(body, v)
}

// DecodeBody decodes body into v strictly: one JSON object, only the
// fields v has, nothing after it.
func DecodeBody(body []byte, v any) error {
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

// Reply answers resp as JSON.
func Reply(w http.ResponseWriter, resp any) {
	w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
	_ = json.NewEncoder(w).Encode(resp)
}

// WriteErr answers as Docker's plugin client expects: non-200 and {"Err": msg}.
func WriteErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", sdk.DefaultContentTypeV1_1)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct{ Err string }{msg})
}

// Unknown answers any path or HTTP method a driver does not serve, naming
// what it serves (a list such as "POST /Plugin.Activate and POST
// /IpamDriver.{...}"): 405 for a method other than POST, else 404.
func Unknown(name, serves string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusNotFound
		if r.Method != http.MethodPost {
			status = http.StatusMethodNotAllowed
		}
		WriteErr(w, status, fmt.Sprintf("%s: unknown plugin request %s %s: the %s driver serves %s; "+
			"is the Docker engine newer than the plugin?", name, r.Method, r.URL.Path, name, serves))
	}
}
