package ns

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestDoRunAndNetlinkStayInNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CALICO_TEST_REQUIRE_ROOT") == "1" {
			t.Fatal("test needs root (CALICO_TEST_REQUIRE_ROOT=1)")
		}
		t.Skip("test needs root to create network namespaces")
	}
	name := fmt.Sprintf("fx-ns-%d", os.Getpid())
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
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	n, err := Open("/var/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	h, err := n.NetlinkHandle()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	bridge := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "fxnstest0"}}
	if err := h.LinkAdd(bridge); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName("fxnstest0"); err == nil {
		t.Fatal("link created through the handle is visible in the test's own namespace")
	}

	var names []string
	if err := n.Do(func() error {
		ifaces, err := net.Interfaces()
		for _, i := range ifaces {
			names = append(names, i.Name)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "lo,fxnstest0" {
		t.Errorf("interfaces inside Do: %v, want lo and fxnstest0", names)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := n.Run(ctx, []byte("x"), "cat", "/proc/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "fxnstest0") {
		t.Errorf("child process not in the namespace:\n%s", out)
	}
	if _, err := n.Run(ctx, nil, "false"); err == nil {
		t.Error("failing command reported success")
	}
}
