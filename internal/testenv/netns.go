package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NetNSDir is where named network namespaces live, as with `ip netns`.
const NetNSDir = "/run/netns"

// NetNSPrefix starts the name of every namespace the tests create, so a
// leak is easy to spot (`ip netns | grep calt-`).
const NetNSPrefix = "calt-"

// NewNetNS creates a fresh network namespace named calt-<random> under
// /run/netns (so `ip netns exec <name> ...` works on it), with lo up, and
// returns an open handle to it and its name. t.Cleanup closes the handle
// and deletes exactly that namespace. The calling goroutine's namespace is
// not changed. It needs root (see RequireRoot).
func NewNetNS(t testing.TB) (netns.NsHandle, string) {
	t.Helper()
	RequireRoot(t)
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		t.Fatalf("netns name: %v", err)
	}
	name := NetNSPrefix + hex.EncodeToString(suffix)
	ns, err := createNamedNetNS(name)
	if err != nil {
		t.Fatalf("create netns %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Errorf("close netns %s: %v", name, err)
		}
		if err := deleteNamedNetNS(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	return ns, name
}

// InNS runs fn on an OS thread switched into ns and fails the test if fn
// (or switching) fails. fn runs on another goroutine, so it must return its
// error rather than call t.Fatal.
func InNS(t testing.TB, ns netns.NsHandle, fn func() error) {
	t.Helper()
	if err := DoInNS(ns, fn); err != nil {
		t.Fatalf("in netns %s: %v", ns, err)
	}
}

// DoInNS runs fn on a goroutine whose OS thread is locked and switched into
// ns, then switches the thread back. If switching back fails the thread is
// left locked, so the Go runtime discards it instead of reusing a thread in
// the wrong namespace. Goroutines that fn starts do not inherit ns.
func DoInNS(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("get current netns: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter netns %s: %w", ns, err)
			return
		}
		fnErr := fn()
		if err := netns.Set(orig); err != nil {
			// Thread stays locked: the runtime ends it with this goroutine.
			errc <- errors.Join(fnErr, fmt.Errorf("restore netns %s: %w", orig, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}

// createNamedNetNS makes the namespace the way `ip netns add` does: an empty
// file under /run/netns with the new namespace bind-mounted on it. The
// unshare happens on a locked thread that is never unlocked, so the runtime
// throws that thread away rather than let another goroutine run in the new
// namespace.
func createNamedNetNS(name string) (netns.NsHandle, error) {
	if err := ensureNetNSDir(); err != nil {
		return netns.None(), err
	}
	path := filepath.Join(NetNSDir, name)
	type result struct {
		ns  netns.NsHandle
		err error
	}
	resc := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, see above
		ns, err := unshareOnto(path)
		resc <- result{ns, err}
	}()
	r := <-resc
	return r.ns, r.err
}

// unshareOnto moves the current (locked) thread into a new network
// namespace, pins it at path, sets lo up and returns a handle to it.
func unshareOnto(path string) (ns netns.NsHandle, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return netns.None(), err
	}
	f.Close()
	mounted := false
	defer func() {
		if err != nil {
			if mounted {
				_ = unix.Unmount(path, unix.MNT_DETACH)
			}
			_ = os.Remove(path)
		}
	}()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return netns.None(), fmt.Errorf("unshare: %w", err)
	}
	self := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	if err := unix.Mount(self, path, "none", unix.MS_BIND, ""); err != nil {
		return netns.None(), fmt.Errorf("bind-mount %s: %w", self, err)
	}
	mounted = true
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return netns.None(), fmt.Errorf("find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return netns.None(), fmt.Errorf("set lo up: %w", err)
	}
	return netns.GetFromPath(path)
}

var netnsDirMu sync.Mutex

// ensureNetNSDir creates /run/netns as `ip netns add` does: a mount point
// with shared propagation, so unmounting a namespace there also releases
// copies of that mount held by other mount namespaces.
func ensureNetNSDir() error {
	netnsDirMu.Lock() // parallel tests must not both bind-mount the dir
	defer netnsDirMu.Unlock()
	if err := os.MkdirAll(NetNSDir, 0o755); err != nil {
		return err
	}
	err := unix.Mount("", NetNSDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if !errors.Is(err, unix.EINVAL) {
		return err // nil, or a real failure
	}
	// EINVAL: not a mount point yet. Bind it onto itself, then retry.
	if err := unix.Mount(NetNSDir, NetNSDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mount %s: %w", NetNSDir, err)
	}
	return unix.Mount("", NetNSDir, "none", unix.MS_SHARED|unix.MS_REC, "")
}

// deleteNamedNetNS undoes createNamedNetNS, as `ip netns delete` does.
func deleteNamedNetNS(name string) error {
	path := filepath.Join(NetNSDir, name)
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("unmount %s: %w", path, err)
	}
	return os.Remove(path)
}
