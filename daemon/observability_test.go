package daemon

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/metrics"
	"github.com/calico-docker/calico-libnetwork/routing/status"
)

func TestObservabilitySettings(t *testing.T) {
	clearEnv(t)
	t.Setenv("NODENAME", "host1")
	c, err := LoadConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Observability{LogFormat: "text", LogFile: "/var/log/calico/calico-libnetwork.log", LogMaxSizeMB: 1, LogMaxFiles: 10}
	if c.Observability != want {
		t.Errorf("defaults = %+v, want %+v", c.Observability, want)
	}
	t.Setenv("CALICO_LOG_FILE", "none")
	t.Setenv("CALICO_METRICS_ADDR", "localhost:9091")
	t.Setenv("CALICO_SINGLE_SOCKET", "true")
	c, err = LoadConfig([]string{"--log-format=json", "--log-max-files=3", "--pprof"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want = Observability{LogFormat: "json", LogMaxSizeMB: 1, LogMaxFiles: 3, MetricsAddr: "localhost:9091", SingleSocket: true, Pprof: true}
	if c.Observability != want {
		t.Errorf("settings = %+v, want %+v", c.Observability, want)
	}
	for _, tc := range []struct{ env, value, want string }{
		{"CALICO_LOG_FORMAT", "xml", "use text or json"},
		{"CALICO_LOG_FILE", "calico.log", "use an absolute file path, or none"},
		{"CALICO_LOG_MAX_FILES", "1", "from 2 to 1000"},
		{"CALICO_LOG_MAX_SIZE_MB", "0", "from 1 to 1024"},
		{"CALICO_METRICS_ADDR", "9091", "use host:port"},
		{"CALICO_SINGLE_SOCKET", "yes please", "use true or false"},
		{"CALICO_PPROF", "true", "set metrics_addr too"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("NODENAME", "host1")
			t.Setenv(tc.env, tc.value)
			if _, err := LoadConfig(nil, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// networkHandler is the real network driver's handler; GetCapabilities
// and a refused CreateNetwork need no etcd (the store has no client).
func networkHandler(t *testing.T) http.Handler {
	t.Helper()
	store := datastore.New(nil)
	drv, err := driver.New(driver.Config{Node: "host1", Store: store, IPAM: ipam.New(store, "host1"), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drv.Close)
	return drv.Handler()
}

func post(t *testing.T, sock, path, body string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	resp, err := c.Post("http://plugin"+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestSingleSocket serves both drivers on calico.sock through the metrics
// middleware, as the managed plugin does.
func TestSingleSocket(t *testing.T) {
	dir := t.TempDir()
	netH := networkHandler(t)
	ipamH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"RequiresMACAddress":false}`) })
	m := metrics.New()
	cfg := &Config{PluginDir: dir, Observability: Observability{SingleSocket: true}}
	socks, err := servePlugins(cfg, netH, ipamH, m.Plugin, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, s := range socks {
			s.Close()
		}
	}()
	sock := filepath.Join(dir, "calico.sock")
	if len(socks) != 1 || socks[0].path != sock {
		t.Fatalf("sockets = %v, want only %s", socks, sock)
	}
	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/Plugin.Activate", "", 200, `{"Implements": ["NetworkDriver", "IpamDriver"]}`},
		{"/NetworkDriver.GetCapabilities", "", 200, `"Scope":"local"`},
		{"/NetworkDriver.CreateNetwork", `{"NetworkID":"n1"}`, 500, `{"Err":"calico CreateNetwork: NetworkID \"n1\" is not a Docker ID`},
		{"/IpamDriver.GetCapabilities", "", 200, `{"RequiresMACAddress":false}`},
		{"/VolumeDriver.Create", "{}", 404, `unknown plugin request`},
	} {
		code, body := post(t, sock, tc.path, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s = %d %s, want %d %s", tc.path, code, body, tc.code, tc.want)
		}
	}
	rec := &strings.Builder{}
	resp := getMetrics(t, m)
	for _, want := range []string{
		`calico_plugin_requests_total{driver="network",method="CreateNetwork",result="error"} 1`,
		`calico_plugin_requests_total{driver="network",method="GetCapabilities",result="ok"} 1`,
		`calico_plugin_requests_total{driver="ipam",method="GetCapabilities",result="ok"} 1`,
		`calico_plugin_requests_total{driver="plugin",method="Activate",result="ok"} 1`,
		`calico_plugin_requests_total{driver="other",method="other",result="error"} 1`,
	} {
		if !strings.Contains(resp, want) {
			rec.WriteString(want + "\n")
		}
	}
	if rec.Len() > 0 {
		t.Errorf("metrics lack:\n%s", rec)
	}
}

// TestPprofOptIn: the profiler is served only when asked for.
func TestPprofOptIn(t *testing.T) {
	m := metrics.New()
	for _, tc := range []struct {
		serve func(string) (*metrics.Server, error)
		want  int
	}{{m.Serve, http.StatusNotFound}, {m.ServeWithPprof, http.StatusOK}} {
		s, err := tc.serve("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + s.Addr().String() + "/debug/pprof/heap?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("/debug/pprof/heap = %d, want %d", resp.StatusCode, tc.want)
		}
		if resp, err := http.Get("http://" + s.Addr().String() + "/healthz"); err != nil || resp.StatusCode != 200 {
			t.Errorf("/healthz = %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		s.Close()
	}
}

func getMetrics(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	s, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestRoutingStatusMetrics(t *testing.T) {
	st := status.Status{Backend: "bird", Routes: status.Routes{InSync: true, Programmed: 3},
		BGP: &status.BGP{Running: true, Learned: 3, Exported: 1, Peers: []status.Peer{
			{PeerIP: "10.0.0.2", Type: "mesh", State: "Established"}, {PeerIP: "10.0.0.3", Type: "global", State: "Active"}}}}
	m := metrics.New()
	obs := &observer{metrics: m, log: quiet}
	obs.watchRouting(func() status.Status { return st })
	page := getMetrics(t, m)
	for _, want := range []string{
		`calico_bgp_peer_up{peer="10.0.0.2",type="mesh"} 1`,
		`calico_bgp_peer_up{peer="10.0.0.3",type="global"} 0`,
		`calico_bgp_peer_state{peer="10.0.0.3",state="Active",type="global"} 1`,
		`calico_bgp_routes{direction="exported"} 1`,
		`calico_routing_routes 3`,
		`calico_bgp_running 1`,
	} {
		if !strings.Contains(page, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestReadyNotifiesSystemd: with Type=notify, systemd learns from
// READY=1 on $NOTIFY_SOCKET that the sockets are served.
func TestReadyNotifiesSystemd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	obs, err := startObserver(&Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if errs := obs.metrics.Ready(t.Context()); len(errs) != 1 || !strings.Contains(errs[0].Error(), "still starting") {
		t.Errorf("ready before start-up finished: %v", errs)
	}
	obs.ready()
	buf := make([]byte, 64)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "READY=1" {
		t.Errorf("notification %q, %v; want READY=1", buf[:n], err)
	}
	if errs := obs.metrics.Ready(t.Context()); errs != nil {
		t.Errorf("not ready after start-up: %v", errs)
	}
	obs.close()
	n, err = conn.Read(buf)
	if err != nil || string(buf[:n]) != "STOPPING=1" {
		t.Errorf("notification %q, %v; want STOPPING=1", buf[:n], err)
	}
}

// TestSocketConcurrent: the network socket serves concurrent requests.
func TestSocketConcurrent(t *testing.T) {
	dir := t.TempDir()
	netH := networkHandler(t)
	s, err := serveSocket(dir, "calico", httpServer{netH}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "calico.sock")
	errs := make(chan error, 50)
	for range 50 {
		go func() {
			c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, "unix", sock)
				}}}
			resp, err := c.Post("http://plugin/NetworkDriver.GetCapabilities", "application/json", nil)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(string(b), `"Scope":"local"`) {
					err = errors.New("answer " + string(b))
				}
			}
			errs <- err
		}()
	}
	for range 50 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	s.Close()
}
