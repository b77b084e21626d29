package driver

import (
	"context"
	"encoding/json"
	"github.com/calico-docker/calico-libnetwork/internal/dockerfake"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

const testNode = "host1"

// harness runs the driver behind its real unix-socket handler, against a
// real etcd, the real IPAM allocator, a Docker API server that knows the
// names the test registers, and veths made by felix in a namespace that
// plays the host.
type harness struct {
	t      *testing.T
	sock   string
	store  *datastore.Store
	alloc  *ipam.Allocator
	docker *dockerfake.Engine
	drv    *Driver
	veths  Veths
	// endpoints is the daemon's cache of the datastore, fed by the real
	// syncer, for Join's EndpointsOfSandbox.
	endpoints *cache.Cache
	hostNS    string // path of the namespace standing in for the host
	// sources is felix's dataplane on hostNS, programming sandbox source
	// routes (nil with fake veths).
	sources SourceRoutes
}

func newHarness(t *testing.T, veths Veths) *harness {
	t.Helper()
	_, cli := testenv.StartEtcd(t)
	h := &harness{t: t, store: datastore.New(cli), docker: startDockerFake(t)}
	h.alloc = ipam.New(h.store, testNode)
	if veths == nil {
		testenv.RequireRoot(t)
		_, name := testenv.NewNetNS(t)
		h.hostNS = filepath.Join(testenv.NetNSDir, name)
		v, err := felix.NewVeths(h.hostNS)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		veths = v
		h.sources = startFelix(t, h.hostNS)
	}
	dc, err := dockerapi.New(h.docker.Host())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	h.veths = veths
	h.endpoints = startCache(t, h.store)
	h.drv = h.newDriver(dc)
	h.sock = filepath.Join(t.TempDir(), "calico.sock")
	l, err := net.Listen("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h.drv.Handler()}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return h
}

// newDriver returns another Driver on the harness's etcd, IPAM and veths
// (a restarted daemon); it is closed at cleanup.
func (h *harness) newDriver(dc Docker) *Driver {
	h.t.Helper()
	drv, err := New(Config{Node: testNode, Store: h.store, IPAM: h.alloc, Docker: dc, Endpoints: h.endpoints, Veths: h.veths, MTU: 1500,
		NameWait: 5 * time.Second, SourceRoutes: h.sources})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(drv.Close)
	return drv
}

// startFelix runs the dataplane owner on the host namespace, as the daemon
// does, with a short resync.
func startFelix(t *testing.T, hostNS string) *felix.Dataplane {
	t.Helper()
	dp := felix.New(felix.Config{NetNS: hostNS, ResyncInterval: time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	if err := dp.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-dp.Done() })
	return dp
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

// call posts body to the driver exactly as Docker does and returns the
// HTTP status and the response body.
func (h *harness) call(path, body string) (int, string) {
	h.t.Helper()
	c := http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", h.sock)
		}}}
	resp, err := c.Post("http://plugin"+path, "application/vnd.docker.plugins.v1.2+json", strings.NewReader(body))
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// get sends a GET, which Docker never does.
func (h *harness) get(path string) (int, string) {
	h.t.Helper()
	c := http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", h.sock)
		}}}
	resp, err := c.Get("http://plugin" + path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// mustCall is call that fails the test unless the driver answered 200; it
// decodes the answer into out (if non-nil).
func (h *harness) mustCall(path string, req any, out any) {
	h.t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		h.t.Fatal(err)
	}
	code, body := h.call(path, string(b))
	if code != http.StatusOK {
		h.t.Fatalf("%s: HTTP %d: %s", path, code, body)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(body), out); err != nil {
			h.t.Fatalf("%s: decode %s: %v", path, body, err)
		}
	}
}

// callErr expects an error answer and returns its message.
func (h *harness) callErr(path string, req any) string {
	h.t.Helper()
	b, _ := json.Marshal(req)
	code, body := h.call(path, string(b))
	var e network.ErrorResponse
	if code != http.StatusInternalServerError || json.Unmarshal([]byte(body), &e) != nil || e.Err == "" {
		h.t.Fatalf("%s: want an error answer, got HTTP %d: %s", path, code, body)
	}
	return e.Err
}

// revision is etcd's current revision: unchanged means nothing was written.
func (h *harness) revision() int64 {
	h.t.Helper()
	_, rev, err := h.store.ListKeys(h.ctx(), "/calico/none", true)
	if err != nil {
		h.t.Fatal(err)
	}
	return rev
}

func (h *harness) addPool(cidr string) {
	h.t.Helper()
	p := resources.NewIPPool("pool-" + strings.NewReplacer(".", "-", "/", "-", ":", "-").Replace(cidr))
	p.Spec.CIDR = cidr
	if _, err := h.store.Create(h.ctx(), p); err != nil {
		h.t.Fatal(err)
	}
}

// allocate assigns an address as calico-ipam's RequestAddress would.
func (h *harness) allocate(pool string) string {
	h.t.Helper()
	v4, _, err := h.alloc.AutoAssign(h.ctx(), ipam.AutoAssignArgs{Handle: "test-provisional", Num4: 1, Pools: prefixes(pool)})
	if err != nil {
		h.t.Fatal(err)
	}
	return v4[0].String() + "/32"
}

// startCache runs the datastore syncer into a cache until the test ends.
func startCache(t *testing.T, store *datastore.Store) *cache.Cache {
	t.Helper()
	c := cache.New(cache.Config{Node: testNode})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = store.NewSyncer(datastore.SyncerConfig{}).Run(ctx, c.Apply) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

// startDockerFake serves a fake Docker Engine API (internal/dockerfake)
// on a socket in the test's temp dir.
func startDockerFake(t *testing.T) *dockerfake.Engine {
	t.Helper()
	e, err := dockerfake.Start(filepath.Join(t.TempDir(), "docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.SetEvents(false); e.Close() })
	return e
}
