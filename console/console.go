package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

//go:embed dist
var dist embed.FS

// Prefix is the path the console is served under.
const Prefix = "/console/"

// Limits on requests to the console; larger ones get a clear error.
const (
	MaxPathBytes  = 1024      // the page's own paths are short
	MaxQueryBytes = 16 * 1024 // filters (six values of at most 1 KiB) fit easily
)

// asset is one embedded file, ready to serve.
type asset struct {
	data        []byte
	contentType string
	etag        string
	immutable   bool // hashed file name: cache for a year
}

// handler serves the embedded files; see Handler.
type handler struct {
	files map[string]*asset // by path under dist, "index.html", "assets/x.js"
}

// Handler serves the console under Prefix: the files Vite built, with
// their content types, an ETag, a year's caching for the hashed files in
// assets/ and revalidation for index.html. Any other path under Prefix
// that is not a file (a route of the page) gets index.html; a missing file
// under assets/ is a 404, never a listing or the page.
func Handler() http.Handler {
	h, err := newHandler(dist)
	if err != nil {
		return errorHandler(http.StatusServiceUnavailable, err.Error())
	}
	return h
}

func newHandler(fsys fs.FS) (*handler, error) {
	sub, err := fs.Sub(fsys, "dist")
	if err != nil {
		return nil, err
	}
	h := &handler{files: map[string]*asset{}}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		h.files[p] = &asset{
			data:        data,
			contentType: contentType(p),
			etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
			immutable:   strings.HasPrefix(p, "assets/"),
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if h.files["index.html"] == nil {
		return nil, fmt.Errorf("the console was built without index.html; rebuild it with make console")
	}
	return h, nil
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// csp: the page loads only its own files and talks only to its own origin.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s: the console is read-only; use GET", r.Method))
		return
	}
	rel, status, msg := resolve(r.URL.Path, r.URL.RawQuery)
	if status != 0 {
		httpError(w, status, msg)
		return
	}
	a := h.files[rel]
	if a == nil {
		if rel != "assets" && !strings.HasPrefix(rel, "assets/") {
			a = h.files["index.html"] // a route of the page
		} else {
			httpError(w, http.StatusNotFound, fmt.Sprintf("path %q: no such file in the console; open %s", r.URL.Path, Prefix))
			return
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("ETag", a.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", csp)
	if a.immutable {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
}

// resolve maps a request path under Prefix to a file path under dist
// ("" for the page itself), or returns an error status and message.
func resolve(urlPath, rawQuery string) (rel string, status int, msg string) {
	switch {
	case len(urlPath) > MaxPathBytes:
		return "", http.StatusRequestURITooLong, fmt.Sprintf("path: %d bytes is too long; the console's paths are under %d bytes", len(urlPath), MaxPathBytes)
	case len(rawQuery) > MaxQueryBytes:
		return "", http.StatusRequestURITooLong, fmt.Sprintf("query string: %d bytes is too long; use at most %d (each filter at most 1024 characters)", len(rawQuery), MaxQueryBytes)
	case !utf8.ValidString(urlPath) || strings.ContainsRune(urlPath, 0):
		return "", http.StatusBadRequest, "path: not valid UTF-8 text; open " + Prefix
	case !strings.HasPrefix(urlPath, Prefix):
		return "", http.StatusNotFound, fmt.Sprintf("path %q: the console is served under %s", urlPath, Prefix)
	}
	for _, seg := range strings.Split(urlPath, "/") {
		if seg == ".." {
			return "", http.StatusBadRequest, fmt.Sprintf("path %q: .. is not allowed; open %s", urlPath, Prefix)
		}
	}
	clean := path.Clean(urlPath) // no "..": stays under Prefix
	if clean == strings.TrimSuffix(Prefix, "/") {
		return "", 0, ""
	}
	return strings.TrimPrefix(clean, Prefix), 0, ""
}

func httpError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, msg)
}

func errorHandler(status int, msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { httpError(w, status, msg) })
}
