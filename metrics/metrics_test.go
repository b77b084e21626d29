package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

func TestSplitMethod(t *testing.T) {
	tests := []struct{ path, driver, method string }{
		{"/NetworkDriver.CreateNetwork", "network", "CreateNetwork"},
		{"/IpamDriver.RequestAddress", "ipam", "RequestAddress"},
		{"/Plugin.Activate", "plugin", "Activate"},
		{"/NetworkDriver.Nonsense", "other", "other"},
		{"/VolumeDriver.Create", "other", "other"},
		{"/", "other", "other"},
		{"/metrics", "other", "other"},
	}
	for _, tc := range tests {
		d, m := splitMethod(tc.path)
		if d != tc.driver || m != tc.method {
			t.Errorf("splitMethod(%q) = %s, %s; want %s, %s", tc.path, d, m, tc.driver, tc.method)
		}
	}
}

// TestPluginMiddleware counts requests by method and result; errors are
// the plugin protocol's non-2xx answers.
func TestPluginMiddleware(t *testing.T) {
	m := New()
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "Release") {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"Err":"no such address"}`)
			return
		}
		io.WriteString(w, `{}`)
	})
	srv := httptest.NewServer(m.Plugin(inner))
	defer srv.Close()
	for path, n := range map[string]int{
		"/IpamDriver.RequestAddress": 3, "/IpamDriver.ReleaseAddress": 2, "/NetworkDriver.Join": 1, "/evil/path": 4,
	} {
		for range n {
			resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	for _, c := range []struct {
		method, result string
		want           float64
	}{
		{"ReleaseAddress", "error", 2}, {"RequestAddress", "ok", 3}, {"Join", "ok", 1}, {"other", "ok", 4},
	} {
		if got := value(t, m, "calico_plugin_requests_total", "method", c.method, "result", c.result); got != c.want {
			t.Errorf("requests %s %s = %v, want %v", c.method, c.result, got, c.want)
		}
	}
	if n := len(series(t, m, "calico_plugin_request_duration_seconds")); n != 4 {
		t.Errorf("%d latency histograms, want 4", n)
	}
	if got := value(t, m, "calico_plugin_request_duration_seconds", "method", "RequestAddress"); got != 3 {
		t.Errorf("RequestAddress latency samples = %v, want 3", got)
	}
}

// TestEtcdInterceptors times real etcd requests and counts a failed one.
func TestEtcdInterceptors(t *testing.T) {
	endpoints, _ := testenv.StartEtcd(t)
	m := New()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second,
		DialOptions: m.EtcdDialOptions(), Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		if _, err := cli.Put(ctx, "/calico/test", "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Get(ctx, "/calico/test"); err != nil {
		t.Fatal(err)
	}
	// A transaction with two puts of one key is refused by the server.
	if _, err := cli.Txn(ctx).Then(clientv3.OpPut("/k", "1"), clientv3.OpPut("/k", "2")).Commit(); err == nil {
		t.Fatal("duplicate-key txn accepted")
	}
	for op, want := range map[string]float64{"KV.Put": 3, "KV.Range": 1, "KV.Txn": 1} {
		if got := value(t, m, "calico_datastore_request_duration_seconds", "op", op); got != want {
			t.Errorf("%s requests timed = %v, want %v", op, got, want)
		}
	}
	if got := value(t, m, "calico_datastore_errors_total", "op", "KV.Txn", "code", "InvalidArgument"); got != 1 {
		t.Errorf("KV.Txn InvalidArgument errors = %v, want 1", got)
	}
	if n := len(series(t, m, "calico_datastore_errors_total")); n != 1 {
		t.Errorf("%d error series, want 1", n)
	}
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestHealthEndpoints(t *testing.T) {
	m := New()
	h := m.Handler()
	if code, body := get(t, h, "/readyz"); code != 200 || body != "ok\n" {
		t.Errorf("/readyz with no checks = %d %q", code, body)
	}
	var storeErr error
	m.AddReadyCheck("datastore", func(context.Context) error { return storeErr })
	m.AddReadyCheck("slow", func(ctx context.Context) error { <-ctx.Done(); return nil })
	m.AddLiveCheck("dataplane loop", func(context.Context) error { return nil })
	code, body := get(t, h, "/readyz")
	if code != 503 || !strings.Contains(body, "[-] slow: no answer within 2s") || strings.Contains(body, "datastore") {
		t.Errorf("/readyz with a hung check = %d %q", code, body)
	}
	m.AddReadyCheck("slow", func(context.Context) error { return nil })
	storeErr = errors.New("etcd unreachable")
	if code, body := get(t, h, "/readyz"); code != 503 || body != "[-] datastore: etcd unreachable\nnot ok\n" {
		t.Errorf("/readyz, datastore down = %d %q", code, body)
	}
	if code, body := get(t, h, "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q (ready checks must not count)", code, body)
	}
	storeErr = nil
	code, body = get(t, h, "/readyz?verbose")
	if code != 200 || body != "[+] dataplane loop: ok\n[+] datastore: ok\n[+] slow: ok\nok\n" {
		t.Errorf("/readyz?verbose = %d %q", code, body)
	}
	if errs := m.Ready(context.Background()); errs != nil {
		t.Errorf("Ready = %v", errs)
	}
}

func TestSources(t *testing.T) {
	m := New()
	m.SetDataplaneSource(func() DataplaneStatus {
		return DataplaneStatus{InSync: true, Applies: 7, Failures: 1, LastApplyDuration: 20 * time.Millisecond,
			Endpoints: 2, Routes: 2, UpdateLatencyCount: 4, UpdateLatencySum: time.Second}
	})
	m.SetIPAMSource(func(context.Context) ([]PoolUsage, error) {
		return []PoolUsage{{Name: "default-ipv4-ippool", CIDR: "192.168.0.0/16", Addresses: 65536, Allocated: 3,
			Blocks: 1, NodeBlocks: 1, NodeAllocated: 3}}, nil
	})
	m.SetResourceSource(func(context.Context) (ResourceCounts, error) {
		return ResourceCounts{}, errors.New("etcd down")
	})
	m.SetRoutingSource(func(context.Context) (RoutingStatus, error) {
		return RoutingStatus{BGPRunning: true, Learned: 5, Exported: 1, RoutesProgrammed: 5, RoutesInSync: true,
			Peers: []BGPPeer{{Peer: "10.0.0.2", Type: "mesh", State: "Established"}}}, nil
	})
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"calico_dataplane_applies_total", nil, 7},
		{"calico_dataplane_update_latency_seconds", nil, 4}, // the sample count
		{"calico_ipam_node_allocated_addresses", []string{"pool", "default-ipv4-ippool", "cidr", "192.168.0.0/16"}, 3},
		{"calico_metrics_source_up", []string{"source", "routing"}, 1},
		{"calico_bgp_routes", []string{"direction", "learned"}, 5},
		{"calico_routing_in_sync", nil, 1},
		{"calico_metrics_source_up", []string{"source", "ipam"}, 1},
		{"calico_metrics_source_up", []string{"source", "resources"}, 0},
		{"calico_bgp_peer_up", []string{"peer", "10.0.0.2"}, 1},
		{"calico_bgp_peer_state", []string{"peer", "10.0.0.2", "state", "Established"}, 1},
		{"calico_bgp_peer_state", []string{"peer", "10.0.0.2", "state", "Idle"}, 0},
	} {
		if got := value(t, m, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if n := len(series(t, m, "calico_bgp_peer_state")); n != len(BGPStates) {
		t.Errorf("%d bgp_peer_state series, want one per state (%d)", n, len(BGPStates))
	}
	if n := len(series(t, m, "calico_profiles")); n != 0 {
		t.Errorf("profiles reported although the source failed")
	}
	// The whole /metrics page still renders with a failing source.
	if code, body := get(t, m.Handler(), "/metrics"); code != 200 || !strings.Contains(body, "calico_dataplane_in_sync 1") {
		t.Errorf("/metrics = %d, %.300q", code, body)
	}
}

func TestServe(t *testing.T) {
	m := New()
	s, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %s", resp.Status)
	}
	if _, err := m.Serve(s.Addr().String()); err == nil || !strings.Contains(err.Error(), "set metrics_addr") {
		t.Errorf("second Serve on a busy address: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
