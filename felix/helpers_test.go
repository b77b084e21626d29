package felix

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// requireRoot skips the test when not root, unless CALICO_TEST_REQUIRE_ROOT=1.
func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CALICO_TEST_REQUIRE_ROOT") == "1" {
		tb.Fatal("test needs root (CALICO_TEST_REQUIRE_ROOT=1)")
	}
	tb.Skip("test needs root to create network namespaces")
}

var nsCounter atomic.Uint32

// testNS is a named network namespace made for one test and deleted after it.
type testNS struct {
	name, path string
	ns         *ns.NS
	nl         *netlink.Handle
}

// newTestNS creates a fresh named network namespace; loopback is brought up.
func newTestNS(tb testing.TB, role string) *testNS {
	tb.Helper()
	requireRoot(tb)
	name := fmt.Sprintf("fx-%s-%d-%d", role, os.Getpid(), nsCounter.Add(1))
	errCh := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		h, err := netns.NewNamed(name)
		if err == nil {
			h.Close()
		}
		errCh <- err
	}()
	if err := <-errCh; err != nil {
		tb.Fatalf("create netns %s: %v", name, err)
	}
	t := &testNS{name: name, path: "/var/run/netns/" + name}
	tb.Cleanup(func() {
		if t.nl != nil {
			t.nl.Close()
		}
		if t.ns != nil {
			t.ns.Close()
		}
		if err := netns.DeleteNamed(name); err != nil {
			tb.Errorf("delete netns %s: %v", name, err)
		}
	})
	var err error
	if t.ns, err = ns.Open(t.path); err != nil {
		tb.Fatal(err)
	}
	if t.nl, err = t.ns.NetlinkHandle(); err != nil {
		tb.Fatal(err)
	}
	lo, err := t.nl.LinkByName("lo")
	if err == nil {
		err = t.nl.LinkSetUp(lo)
	}
	if err != nil {
		tb.Fatalf("netns %s: loopback up: %v", name, err)
	}
	return t
}

// link returns the named interface or fails the test.
func (n *testNS) link(tb testing.TB, name string) netlink.Link {
	tb.Helper()
	l, err := n.nl.LinkByName(name)
	if err != nil {
		tb.Fatalf("netns %s: link %s: %v", n.name, name, err)
	}
	return l
}

// run runs a command inside the namespace and fails the test on error.
func (n *testNS) run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.ns.Run(ctx, nil, name, args...)
	if err != nil {
		tb.Fatalf("netns %s: %v", n.name, err)
	}
	return string(out)
}

// sysctl reads a /proc/sys value inside the namespace.
func (n *testNS) sysctl(tb testing.TB, path string) string {
	tb.Helper()
	var val string
	err := n.ns.Do(func() error {
		b, err := os.ReadFile("/proc/sys/" + path)
		val = string(b)
		return err
	})
	if err != nil {
		tb.Fatalf("netns %s: %v", n.name, err)
	}
	return trimNL(val)
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ') {
		s = s[:len(s)-1]
	}
	return s
}

// eventually polls cond until it returns nil or the deadline passes.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not reached within %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
