package ipamdriver

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// env is a driver served over a unix socket, as Docker reaches it.
type env struct {
	t     *testing.T
	store *datastore.Store
	cli   *clientv3.Client
	alloc *ipam.Allocator
	http  *http.Client
}

func newEnv(t *testing.T) *env {
	return newEnvWith(t, func(d *Driver) server { return d })
}

// server is what serves the plugin on a listener.
type server interface{ Serve(net.Listener) error }

func newEnvWith(t *testing.T, serve func(*Driver) server) *env {
	t.Helper()
	_, cli := testenv.StartEtcd(t)
	store := datastore.New(cli)
	return serveEnv(t, cli, store, ipam.New(store, "host1"), serve)
}

// serveEnv serves a Driver over alloc on a unix socket.
func serveEnv(t *testing.T, cli *clientv3.Client, store *datastore.Store, alloc *ipam.Allocator, serve func(*Driver) server) *env {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "calico-ipam.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	srv := serve(New(alloc, store))
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		_ = l.Close()
		<-done
	})
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	t.Cleanup(hc.CloseIdleConnections)
	return &env{t: t, store: store, cli: cli, alloc: alloc, http: hc}
}

// call POSTs body to /<method> as Docker's plugin client does and returns
// the status and the decoded JSON answer.
func (e *env) call(method, body string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://plugin/"+method, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.plugins.v1.2+json")
	req.Header.Set("Content-Type", "application/vnd.docker.plugins.v1+json")
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("%s answered %d with non-JSON %q", method, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// ok calls and requires success.
func (e *env) ok(method, body string) map[string]any {
	e.t.Helper()
	status, out := e.call(method, body)
	if status != http.StatusOK || out["Err"] != nil {
		e.t.Fatalf("%s %s: %d %v", method, body, status, out)
	}
	return out
}

// fails calls, requires an error containing every want, and requires that
// etcd was not written.
func (e *env) fails(method, body string, want ...string) string {
	e.t.Helper()
	rev := e.revision()
	status, out := e.call(method, body)
	msg, _ := out["Err"].(string)
	if status == http.StatusOK || msg == "" {
		e.t.Fatalf("%s %s: %d %v, want an error", method, body, status, out)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			e.t.Errorf("%s %s: error %q does not mention %q", method, body, msg, w)
		}
	}
	if now := e.revision(); now != rev {
		e.t.Errorf("%s %s: a refused request wrote to etcd (revision %d -> %d)", method, body, rev, now)
	}
	return msg
}

func (e *env) revision() int64 {
	e.t.Helper()
	resp, err := e.cli.Get(context.Background(), "/calico/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Header.Revision
}

func (e *env) addPool(name, cidr string, mod ...func(*resources.IPPool)) {
	e.t.Helper()
	p := resources.NewIPPool(name)
	p.Spec.CIDR = cidr
	for _, m := range mod {
		m(p)
	}
	if _, err := e.store.Create(context.Background(), p); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) allocated() int {
	e.t.Helper()
	bs, err := e.alloc.Blocks(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, b := range bs {
		n += len(b.Allocations)
	}
	return n
}

// poolReq renders a RequestPool body as Docker 20.10 sends it.
func poolReq(pool, subPool string, v6 bool) string {
	b, _ := json.Marshal(map[string]any{"AddressSpace": LocalAddressSpace, "Pool": pool, "SubPool": subPool, "Options": map[string]string{}, "V6": v6})
	return string(b)
}

func addrReq(poolID, addr string, opts map[string]string) string {
	b, _ := json.Marshal(map[string]any{"PoolID": poolID, "Address": addr, "Options": opts})
	return string(b)
}

func relReq(poolID, addr string) string {
	b, _ := json.Marshal(map[string]any{"PoolID": poolID, "Address": addr})
	return string(b)
}
