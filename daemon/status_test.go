package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/routing/status"
)

func TestStatusSnapshot(t *testing.T) {
	at := time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		src   StatusSources
		check func(t *testing.T, h HostStatus)
	}{
		{"routing not started, etcd down, dataplane failing", StatusSources{
			Node: "host1", Version: "v1", Endpoints: []string{"http://127.0.0.1:2379"}, Now: func() time.Time { return at },
			Datastore: func(context.Context) error { return errors.New("connection refused") },
			Dataplane: func() felix.Status {
				return felix.Status{Backend: iptables.BackendLegacy, Applies: 2, Failures: 1, LastApply: at, LastError: errors.New("boom")}
			},
		}, func(t *testing.T, h HostStatus) {
			if h.Node != "host1" || !h.Time.Equal(at) || h.Backend != "" || h.BGP != nil {
				t.Errorf("routing part: %+v", h.Status)
			}
			if h.Datastore.Reachable || h.Datastore.Error != "etcd does not answer: connection refused" {
				t.Errorf("datastore: %+v", h.Datastore)
			}
			if d := h.Dataplane; d == nil || d.InSync || d.LastError != "boom" || d.IptablesBackend != "legacy" || d.LastApply == nil {
				t.Errorf("dataplane: %+v", d)
			}
		}},
		{"everything up", StatusSources{
			Node: "host1", Version: "v1", Datastore: func(context.Context) error { return nil },
			Routing: func() status.Status {
				return status.Status{Node: "host1", Time: at, Backend: "bird", BGP: &status.BGP{Running: true, Peers: []status.Peer{}}}
			},
		}, func(t *testing.T, h HostStatus) {
			if !h.Datastore.Reachable || h.Backend != "bird" || h.BGP == nil || h.Dataplane != nil {
				t.Errorf("snapshot: %+v", h)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, tc.src.Snapshot(context.Background())) })
	}
}

// The document is served on a unix socket; routing's own client reads
// it, and the daemon's parts sit next to routing's at the top level.
func TestStatusHandlerOnSocket(t *testing.T) {
	src := &StatusSources{Node: "host1", Version: "v9", Datastore: func(context.Context) error { return nil },
		Dataplane: func() felix.Status { return felix.Status{InSync: true, Applies: 1} },
		Routing:   func() status.Status { return status.Status{Node: "host1", Backend: "vxlan"} }}
	sock := filepath.Join(t.TempDir(), status.SocketName)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: StatusHandler(src), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	st, err := status.Fetch(context.Background(), sock)
	if err != nil || st.Node != "host1" || st.Backend != "vxlan" {
		t.Fatalf("status.Fetch = %+v, %v", st, err)
	}
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://x" + status.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"node", "backend", "routes", "version", "datastore", "dataplane"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("document lacks top-level %q: %v", k, doc)
		}
	}
	post, err := c.Post("http://x"+status.Path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /status: %s", post.Status)
	}
}
