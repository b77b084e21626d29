package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

func get(t *testing.T, h http.Handler, target string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://console.test/", nil)
	r.URL.Path, r.URL.RawQuery, _ = strings.Cut(target, "?")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestServesTheEmbeddedPage: the committed build is embedded, and its
// index.html names only assets that are embedded too.
func TestServesTheEmbeddedPage(t *testing.T) {
	h := Handler()
	r := get(t, h, "/console/")
	page := body(t, r)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /console/: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index.html Cache-Control %q, want no-cache (it names the hashed assets)", cc)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("the page refers to an outside address:\n%s", page)
	}
	wantTypes := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	n := 0
	for _, part := range strings.Split(page, `"/console/assets/`)[1:] {
		name, _, _ := strings.Cut(part, `"`)
		n++
		a := get(t, h, "/console/assets/"+name)
		data := body(t, a)
		ext := name[strings.LastIndex(name, "."):]
		if a.StatusCode != 200 || a.Header.Get("Content-Type") != wantTypes[ext] {
			t.Errorf("asset %s: %d %q", name, a.StatusCode, a.Header.Get("Content-Type"))
		}
		if cc := a.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("asset %s: Cache-Control %q", name, cc)
		}
		if strings.Contains(data, "fonts.googleapis") || strings.Contains(data, "cdn.") {
			t.Errorf("asset %s loads from outside", name)
		}
	}
	if n < 2 {
		t.Fatalf("index.html names %d assets, want the script and the stylesheet:\n%s", n, page)
	}
}

func testHandler(t testing.TB) *handler {
	t.Helper()
	h, err := newHandler(fstest.MapFS{
		"dist/index.html":       {Data: []byte("<html>page</html>")},
		"dist/assets/app-1.js":  {Data: []byte("console.log(1)")},
		"dist/assets/app-1.css": {Data: []byte("body{}")},
		"dist/logo.svg":         {Data: []byte("<svg/>")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPathsAndErrors(t *testing.T) {
	h := testHandler(t)
	for _, c := range []struct {
		path   string
		status int
		want   string // in the body
		ctype  string
	}{
		{"/console/", 200, "page", "text/html; charset=utf-8"},
		{"/console", 404, "served under /console/", ""},
		{"/console/flows/deny", 200, "page", "text/html; charset=utf-8"}, // a route of the page
		{"/console/index.html", 200, "page", "text/html; charset=utf-8"},
		{"/console/logo.svg", 200, "<svg/>", "image/svg+xml"},
		{"/console/assets/app-1.js", 200, "console.log", "text/javascript; charset=utf-8"},
		{"/console//assets/./app-1.css", 200, "body{}", "text/css; charset=utf-8"},
		{"/console/assets/", 404, "no such file", "text/plain; charset=utf-8"}, // no listing
		{"/console/assets", 404, "no such file", ""},
		{"/console/assets/gone.js", 404, "no such file", ""},
		{"/console/../etc/passwd", 400, ".. is not allowed", ""},
		{"/console/assets/..", 400, ".. is not allowed", ""},
		{"/metrics", 404, "served under /console/", ""},
		{"/console/" + strings.Repeat("a", MaxPathBytes), 414, "path: 1033 bytes is too long", ""},
		{"/console/?selector=" + strings.Repeat("x", MaxQueryBytes), 414, "query string: 16393 bytes is too long; use at most 16384", ""},
		{"/console/\xff", 400, "not valid UTF-8", ""},
		{"/console/a\x00b", 400, "not valid UTF-8", ""},
	} {
		r := get(t, h, c.path)
		b := body(t, r)
		if r.StatusCode != c.status || !strings.Contains(b, c.want) {
			t.Errorf("GET %.60q: %d %q, want %d containing %q", c.path, r.StatusCode, b, c.status, c.want)
		}
		if c.ctype != "" && r.Header.Get("Content-Type") != c.ctype {
			t.Errorf("GET %.60q: Content-Type %q, want %q", c.path, r.Header.Get("Content-Type"), c.ctype)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %.60q: no nosniff", c.path)
		}
	}
}

func TestRevalidatesWithETag(t *testing.T) {
	h := testHandler(t)
	r := get(t, h, "/console/")
	etag := r.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if r2 := get(t, h, "/console/", "If-None-Match", etag); r2.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %d, want 304", r2.StatusCode)
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("CSP %q", r.Header.Get("Content-Security-Policy"))
	}
}

func TestOnlyReads(t *testing.T) {
	h := testHandler(t)
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(m, "/console/", strings.NewReader("x")))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" || !strings.Contains(w.Body.String(), "read-only") {
			t.Errorf("%s: %d %q", m, w.Code, w.Body.String())
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodHead, "/console/", nil))
	if w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD: %d with %d bytes", w.Code, w.Body.Len())
	}
}

func TestBuildWithoutPageIsAClearError(t *testing.T) {
	if _, err := newHandler(fstest.MapFS{"dist/assets/a.js": {Data: []byte("x")}}); err == nil || !strings.Contains(err.Error(), "make console") {
		t.Errorf("err = %v, want one saying to run make console", err)
	}
}

// FuzzHandlerPaths: any path and query gets an answer without a panic; a
// success is a file of the build (or the page), an error a plain-text
// message; nothing outside dist is served.
func FuzzHandlerPaths(f *testing.F) {
	for _, s := range []string{"/console/", "/console/assets/x.js", "/console/../../etc/passwd", "/console/%2e%2e/x", "//console//", "/console/a?b=c", "/console/\xff", "/console/assets/"} {
		f.Add(s)
	}
	h := testHandler(f)
	f.Fuzz(func(t *testing.T, target string) {
		r := httptest.NewRequest(http.MethodGet, "http://console.test/", nil)
		r.URL.Path, r.URL.RawQuery, _ = strings.Cut(target, "?")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		b := w.Body.String()
		switch {
		case w.Code == 200:
			if b != "<html>page</html>" && b != "console.log(1)" && b != "body{}" && b != "<svg/>" {
				t.Fatalf("%q: 200 with %q", target, b)
			}
		case w.Code >= 400 && w.Code < 500:
			if w.Header().Get("Content-Type") != "text/plain; charset=utf-8" || !strings.HasSuffix(b, "\n") || !utf8.ValidString(b) && utf8.ValidString(target) {
				t.Fatalf("%q: %d %q", target, w.Code, b)
			}
		default:
			t.Fatalf("%q: status %d", target, w.Code)
		}
	})
}
