// Package felixtest holds the kernel test helpers felix's packages share:
// throwaway network namespaces, a "host" namespace that looks like a real
// host, and workloads — namespaces connected to it by felix veths and set
// up the way Docker sets them up from the driver's Join answer — plus the
// real traffic tests send between them (TCP, UDP, ICMP).
//
// It must not import felix (felix's own tests use it); callers hand in
// felix's veth maker. Only tests import it.
package felixtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// NS is a named network namespace made for one test and deleted after it.
type NS struct {
	Name string // name under /run/netns (`ip netns exec <Name>` works)
	Path string
	NS   *ns.NS
	NL   *netlink.Handle // netlink handle inside the namespace
	role string          // for messages
}

// NewNS creates a fresh namespace with lo up; t.Cleanup deletes it. It
// needs root (see testenv.RequireRoot).
func NewNS(tb testing.TB, role string) *NS {
	tb.Helper()
	_, name := testenv.NewNetNS(tb)
	n := &NS{Name: name, Path: testenv.NetNSDir + "/" + name, role: role}
	var err error
	if n.NS, err = ns.Open(n.Path); err != nil {
		tb.Fatal(err)
	}
	if n.NL, err = n.NS.NetlinkHandle(); err != nil {
		n.NS.Close()
		tb.Fatal(err)
	}
	// Registered after NewNetNS's cleanup, so it runs before the deletion.
	tb.Cleanup(func() {
		n.NL.Close()
		n.NS.Close()
	})
	return n
}

func (n *NS) String() string { return n.role + "(" + n.Name + ")" }

// Link returns the named interface or fails the test.
func (n *NS) Link(tb testing.TB, name string) netlink.Link {
	tb.Helper()
	l, err := n.NL.LinkByName(name)
	if err != nil {
		tb.Fatalf("netns %s: link %s: %v", n, name, err)
	}
	return l
}

// Run runs a command inside the namespace and fails the test on error.
func (n *NS) Run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := n.TryRun(name, args...)
	if err != nil {
		tb.Fatalf("netns %s: %v", n, err)
	}
	return out
}

// TryRun runs a command inside the namespace (30 s at most).
func (n *NS) TryRun(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.NS.Run(ctx, nil, name, args...)
	return string(out), err
}

// Sysctl reads a /proc/sys value (path relative to /proc/sys) inside the
// namespace.
func (n *NS) Sysctl(tb testing.TB, path string) string {
	tb.Helper()
	var val []byte
	err := n.NS.Do(func() (err error) {
		val, err = os.ReadFile("/proc/sys/" + path)
		return err
	})
	if err != nil {
		tb.Fatalf("netns %s: %v", n, err)
	}
	return strings.TrimSpace(string(val))
}

// SetSysctl writes a /proc/sys value inside the namespace.
func (n *NS) SetSysctl(tb testing.TB, path, value string) {
	tb.Helper()
	err := n.NS.Do(func() error { return os.WriteFile("/proc/sys/"+path, []byte(value), 0o644) })
	if err != nil {
		tb.Fatalf("netns %s: set %s=%s: %v", n, path, value, err)
	}
}

// Eventually polls cond every 50 ms until it returns nil, or fails the
// test with its last error once timeout has passed.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() error) {
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

// ForwardDrop sets the FORWARD policy to DROP in the namespace for both IP
// versions with the given iptables backend ("legacy" or "nft"), as Docker
// does.
func ForwardDrop(tb testing.TB, n *NS, backend string) {
	tb.Helper()
	n.Run(tb, "iptables-"+backend, "-P", "FORWARD", "DROP")
	n.Run(tb, "ip6tables-"+backend, "-P", "FORWARD", "DROP")
}
