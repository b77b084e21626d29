package testenv

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// currentNS returns the namespace of a freshly locked thread, which is the
// one any goroutine of this process would run in.
func currentNS(t *testing.T) netns.NsHandle {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ns, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

func TestNewNetNSIsFreshAndCleanedUp(t *testing.T) {
	RequireRoot(t)
	host := currentNS(t)
	var path string
	t.Run("create", func(t *testing.T) {
		ns, name := NewNetNS(t)
		if !strings.HasPrefix(name, NetNSPrefix) {
			t.Errorf("name %q lacks prefix %q", name, NetNSPrefix)
		}
		path = filepath.Join(NetNSDir, name)
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("namespace file: %v", err)
		}
		if ns.Equal(host) {
			t.Fatal("new namespace is the host's")
		}
		if !currentNS(t).Equal(host) {
			t.Fatal("NewNetNS moved the calling thread")
		}
		InNS(t, ns, func() error {
			links, err := netlink.LinkList()
			if err != nil {
				return err
			}
			if len(links) != 1 || links[0].Attrs().Name != "lo" {
				return errors.New("namespace has links other than lo")
			}
			if links[0].Attrs().Flags&net.FlagUp == 0 {
				return errors.New("lo is down")
			}
			return nil
		})
		if _, err := exec.LookPath("ip"); err == nil {
			out, err := exec.Command("ip", "netns", "exec", name, "ip", "-o", "link", "show", "lo").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "UP") {
				t.Errorf("ip netns exec %s: %v: %s", name, err, out)
			}
		}
	})
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s still exists after cleanup (err=%v)", path, err)
	}
}

func TestDoInNSRestoresThreads(t *testing.T) {
	RequireRoot(t)
	host := currentNS(t)
	ns, _ := NewNetNS(t)
	want := errors.New("boom")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			err := DoInNS(ns, func() error {
				cur, err := netns.Get()
				if err != nil {
					return err
				}
				defer cur.Close()
				if !cur.Equal(ns) {
					return errors.New("fn did not run in the namespace")
				}
				return want
			})
			if !errors.Is(err, want) {
				t.Errorf("DoInNS = %v, want %v", err, want)
			}
		})
	}
	wg.Wait()
	// Threads released by DoInNS are back in the host namespace.
	for range 20 {
		if !currentNS(t).Equal(host) {
			t.Fatal("a thread was left in the test namespace")
		}
	}
}
