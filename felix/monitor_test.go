package felix

import (
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// linkChanged judges the kernel's real link events: a workload interface
// seen for the first time, set down or renamed away wakes the loop; its
// carrier going and coming back (the peer moved into a container and set
// up there: every container start) does not.
func TestLinkChangedIgnoresCarrier(t *testing.T) {
	host := felixtest.NewNS(t, "lk")
	events := make(chan netlink.LinkUpdate, 256)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.LinkSubscribeWithOptions(events, done, netlink.LinkSubscribeOptions{Namespace: host.NS.Handle()}); err != nil {
		t.Fatal(err)
	}
	seen := map[int]linkState{}
	// woken runs step, then judges the events up to a sentinel interface
	// made after it (one socket: in order), and returns the ones that
	// would have woken the loop.
	sentinels := 0
	woken := func(step func()) []string {
		t.Helper()
		step()
		sentinels++
		sentinel := addIface(t, host, "sentinel"+string(rune('a'+sentinels)), "10.98.0.1/32").Attrs().Name
		var woke []string
		timeout := time.After(converge)
		for {
			select {
			case u := <-events:
				if u.Attrs().Name == sentinel {
					return woke
				}
				woke = append(woke, linkChanged(seen, u, "cali")...)
			case <-timeout:
				t.Fatalf("no event for %s", sentinel)
			}
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := woken(func() {
		must(host.NL.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "calilk0000001"}, PeerName: "tmplk0000001"}))
		must(host.NL.LinkSetUp(host.Link(t, "calilk0000001")))
		must(host.NL.LinkSetUp(host.Link(t, "tmplk0000001")))
	}); len(got) == 0 {
		t.Error("a new workload interface woke nothing")
	}
	if got := woken(func() {
		must(host.NL.LinkSetDown(host.Link(t, "tmplk0000001")))
		must(host.NL.LinkSetUp(host.Link(t, "tmplk0000001")))
	}); len(got) != 0 {
		t.Errorf("the peer's carrier going and coming back woke the loop: %q", got)
	}
	if got := woken(func() { must(host.NL.LinkSetDown(host.Link(t, "calilk0000001"))) }); !slices.Equal(got, []string{"calilk0000001"}) {
		t.Errorf("the interface set down: woke for %q, want it once", got)
	}
	if got := woken(func() { must(host.NL.LinkSetName(host.Link(t, "calilk0000001"), "xlk0000001")) }); !slices.Equal(got, []string{"calilk0000001"}) {
		t.Errorf("the interface renamed away: woke for %q, want its old name", got)
	}
	if got := woken(func() { must(host.NL.LinkDel(host.Link(t, "xlk0000001"))) }); len(got) != 0 {
		t.Errorf("an interface not ours deleted: woke %q", got)
	}
}
