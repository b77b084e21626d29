package daemon

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestConsoleIsOffByDefaultAndLocal(t *testing.T) {
	c, err := LoadConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Console || c.ConsoleAddr != "127.0.0.1:9099" {
		t.Errorf("console %v on %q, want off, and 127.0.0.1:9099 when turned on", c.Console, c.ConsoleAddr)
	}
	if s, err := startConsole(c, slog.New(slog.DiscardHandler)); s != nil || err != nil {
		t.Errorf("startConsole with the console off: %v, %v", s, err)
	}
}

func TestConsoleSettingErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--console=maybe"}, `invalid console "maybe" (--console, $CALICO_CONSOLE, or "console" in the config file): use true or false`},
		{[]string{"--console", "--console-addr=9099"}, `invalid console_addr "9099" (--console-addr, $CALICO_CONSOLE_ADDR`},
		{[]string{"--console", "--console-addr="}, "set host:port, such as 127.0.0.1:9099, or set console to false"},
		{[]string{"--console", "--metrics-addr=127.0.0.1:9099"}, "use another port than metrics_addr"},
	} {
		_, err := LoadConfig(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := LoadConfig([]string{"--console-addr=bad"}, io.Discard); err == nil {
		t.Error("a bad console_addr is accepted while the console is off; want an error now rather than when it is turned on")
	}
}

func TestConsoleServesPageAndAPI(t *testing.T) {
	cfg := &Config{ConsoleSettings: ConsoleSettings{Console: true, ConsoleAddr: "127.0.0.1:0"}}
	c, err := startConsole(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	base := "http://" + c.addr.String()
	get := func(path, host string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if host != "" {
			req.Host = host
		}
		r, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r, string(b)
	}
	if r, b := get("/console/", ""); r.StatusCode != 200 || !strings.Contains(b, "<title>Calico flows</title>") {
		t.Errorf("/console/: %d %.80q", r.StatusCode, b)
	}
	if r, _ := get("/", ""); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/console/" {
		t.Errorf("/: %d to %q, want a redirect to /console/", r.StatusCode, r.Header.Get("Location"))
	}
	r, b := get("/api/v1/flows", "")
	var e struct{ Error string }
	if r.StatusCode != http.StatusServiceUnavailable || json.Unmarshal([]byte(b), &e) != nil || !strings.HasPrefix(e.Error, "flows API: not served yet") {
		t.Errorf("/api/v1/flows before the API is set: %d %q", r.StatusCode, b)
	}
	c.setAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"flows":[]}`) }))
	if r, b := get("/api/v1/flows?action=deny", "localhost:9099"); r.StatusCode != 200 || b != `{"flows":[]}` {
		t.Errorf("/api/v1/flows: %d %q", r.StatusCode, b)
	}
	if r, _ := get("/console/?selector="+strings.Repeat("x", 100<<10), ""); r.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 100 KiB query: %d, want 431", r.StatusCode)
	}
	if r, b := get("/console/?selector="+strings.Repeat("x", 20<<10), ""); r.StatusCode != http.StatusRequestURITooLong || !strings.Contains(b, "query string") {
		t.Errorf("a 20 KiB query: %d %q, want 414 naming the query string", r.StatusCode, b)
	}
	if r, b := get("/console/", "attacker.example:9099"); r.StatusCode != http.StatusMisdirectedRequest || !strings.Contains(b, "listens on loopback only") {
		t.Errorf("a foreign Host name: %d %q, want 421", r.StatusCode, b)
	}
}

func TestConsoleAddrInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := &Config{ConsoleSettings: ConsoleSettings{Console: true, ConsoleAddr: l.Addr().String()}}
	if _, err := startConsole(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "invalid console_addr") || !strings.Contains(err.Error(), "use a free host:port") {
		t.Errorf("err = %v, want one naming console_addr and the fix", err)
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST:9099": true, "127.0.0.1:9099": true, "[::1]:9099": true, "app.localhost": true,
		"127.0.0.1.nip.io": false, "example.com:9099": false, "10.0.0.1": false, "": false,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
