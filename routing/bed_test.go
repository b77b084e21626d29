package routing_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// converge bounds every wait for routing to settle. BGP sessions can take
// a few seconds (GoBGP waits 5s after a session ends before accepting a
// new one), so it is generous; no assertion is about speed.
const converge = 60 * time.Second

// The bed shared by this package's multi-host tests: built on first use,
// closed by TestMain.
var shared struct {
	once   sync.Once
	binDir string
	bin    string
	bed    *testbed.Bed
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.bed != nil {
		if err := shared.bed.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the test bed:", err)
			code = 1
		}
	}
	if shared.binDir != "" {
		os.RemoveAll(shared.binDir)
	}
	os.Exit(code)
}

// requireBed skips unless root with ip, etcd (and the given tools).
func requireBed(t testing.TB, tools ...string) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTools(t, append([]string{"ip", "etcd", "ping"}, tools...)...)
}

// daemonBinary builds calico-libnetwork once.
func daemonBinary(t testing.TB) string {
	t.Helper()
	if shared.bin == "" {
		dir, err := os.MkdirTemp("", "calico-routing-bin-")
		if err != nil {
			t.Fatal(err)
		}
		shared.binDir = dir
		if shared.bin, err = testbed.BuildDaemon(dir); err != nil {
			t.Fatal(err)
		}
	}
	return shared.bin
}

// sharedBed returns the package's three-host bed (mesh, default pool),
// reset to that state.
func sharedBed(t testing.TB) *testbed.Bed {
	t.Helper()
	requireBed(t)
	shared.once.Do(func() {
		shared.bed, shared.err = testbed.Start(testbed.Config{Daemon: daemonBinary(t)})
	})
	if shared.err != nil {
		t.Fatalf("test bed: %v", shared.err)
	}
	return shared.bed
}

// newBed starts a bed of its own for one test.
func newBed(t testing.TB, cfg testbed.Config) *testbed.Bed {
	t.Helper()
	requireBed(t)
	cfg.Daemon = daemonBinary(t)
	b, err := testbed.Start(cfg)
	if err != nil {
		t.Fatalf("test bed: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range b.Hosts {
				t.Logf("%s log:\n%s", h.Name, h.LogTail(40))
			}
		}
		if err := b.Close(); err != nil {
			t.Errorf("closing the bed: %v", err)
		}
	})
	return b
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), converge)
	t.Cleanup(cancel)
	return c
}

func eventually(t testing.TB, what string, cond func() error) {
	t.Helper()
	testenv.Eventually(t, converge, 100*time.Millisecond, func() error {
		if err := cond(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// apply stores objects; t.Cleanup deletes them again.
func apply(t testing.TB, b *testbed.Bed, objs ...resources.Resource) {
	t.Helper()
	for _, o := range objs {
		if _, err := b.Store.Apply(ctx(t), o); err != nil {
			t.Fatalf("apply %s %s: %v", o.GetTypeMeta().Kind, o.Meta().Name, err)
		}
		kind, name := o.GetTypeMeta().Kind, o.Meta().Name
		t.Cleanup(func() {
			if _, err := b.Store.Delete(context.Background(), kind, "", name, ""); err != nil && !errors.Is(err, datastore.ErrNotFound) {
				t.Errorf("delete %s %s: %v", kind, name, err)
			}
		})
	}
}

// network creates a Docker network on every host.
func network(t testing.TB, b *testbed.Bed, name string, subnet netip.Prefix) *testbed.Network {
	t.Helper()
	n, err := b.CreateNetwork(name, subnet, "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// workload starts a workload serving TCP on port 80; t.Cleanup removes it.
func workload(t testing.TB, h *testbed.Host, n *testbed.Network, labels map[string]string) *testbed.Workload {
	t.Helper()
	w, err := h.AddWorkload(n, labels)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := w.Remove(); err != nil {
			t.Errorf("remove workload %s: %v", w.Name, err)
		}
	})
	if _, stop, err := w.NS.Serve(80); err != nil {
		t.Fatal(err)
	} else {
		t.Cleanup(stop)
	}
	return w
}

// reach checks from reaches to by ping and TCP and returns the source
// address to saw.
func reach(from, to *testbed.Workload) (netip.Addr, error) {
	if err := from.NS.Ping(to.IP); err != nil {
		return netip.Addr{}, fmt.Errorf("ping %s (%s) -> %s (%s): %w", from.Name, from.Host.Name, to.Name, to.Host.Name, err)
	}
	seen, err := from.NS.Reach(netip.AddrPortFrom(to.IP, 80), 2*time.Second)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("tcp %s (%s) -> %s (%s): %w", from.Name, from.Host.Name, to.Name, to.Host.Name, err)
	}
	return seen, nil
}

// allReach checks every ordered pair reaches the other, unNATed.
func allReach(t testing.TB, wls ...*testbed.Workload) {
	t.Helper()
	for _, a := range wls {
		for _, b := range wls {
			if a == b {
				continue
			}
			eventually(t, "reach", func() error {
				seen, err := reach(a, b)
				if err == nil && seen != a.IP {
					return fmt.Errorf("%s saw %s's traffic from %s, want its own address %s (no NAT between pools)", b.Name, a.Name, seen, a.IP)
				}
				return err
			})
		}
	}
}

// blocksOf returns the IPv4 blocks a node has affinity for.
func blocksOf(t testing.TB, b *testbed.Bed, node string) []netip.Prefix {
	t.Helper()
	blocks, err := ipam.New(b.Store, node).AffineBlocks(ctx(t), node)
	if err != nil {
		t.Fatal(err)
	}
	return blocks
}

// ourRoute finds the route of protocol 81 to dst in a host's kernel.
func ourRoute(h *testbed.Host, dst netip.Prefix) (string, error) {
	routes, err := h.NS.Routes()
	if err != nil {
		return "", err
	}
	name := dst.String()
	if dst.Bits() == 32 {
		name = dst.Addr().String() // as ip route prints host routes
	}
	for _, r := range routes {
		if strings.HasPrefix(r, name+" ") && strings.Contains(r, "proto 81") {
			return r, nil
		}
	}
	return "", fmt.Errorf("%s has no proto 81 route to %s in:\n%s", h.Name, dst, strings.Join(routes, "\n"))
}

// netipPrefix parses a prefix; "" is the invalid prefix (every pool).
func netipPrefix(s string) netip.Prefix {
	if s == "" {
		return netip.Prefix{}
	}
	return netip.MustParsePrefix(s)
}

func datastoreNode(b *testbed.Bed, name string) (*resources.Node, error) {
	return datastore.GetAs[*resources.Node](context.Background(), b.Store, "", name)
}
