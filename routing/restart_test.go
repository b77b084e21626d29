package routing_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
)

// keepsRoutes checks, for a while, that h keeps its routes to blocks.
func keepsRoutes(t *testing.T, h *testbed.Host, blocks []netip.Prefix, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		for _, blk := range blocks {
			if _, err := ourRoute(h, blk); err != nil {
				t.Fatalf("during the restart: %v", err)
			}
		}
	}
}

func TestDaemonRestartKeepsRoutesAtPeers(t *testing.T) {
	b := sharedBed(t)
	net := network(t, b, "restart", netipPrefix(""))
	h1, h3 := b.Hosts[0], b.Hosts[2]
	w1, w3 := workload(t, h1, net, nil), workload(t, h3, net, nil)
	allReach(t, w1, w3)
	blocks := blocksOf(t, b, h3.Name)

	for _, tc := range []struct {
		name    string
		stop    func() error
		cleanup bool // the daemon removes the routes it installed
	}{
		{"killed", h3.Kill, false}, // a crash: the kernel closes the sessions
		{"stopped", h3.Stop, true}, // SIGTERM: the daemon closes them without a NOTIFICATION
	} {
		t.Run(tc.name, func(t *testing.T) {
			sessions(t, h1, h2IP(b)+"/mesh", h3.IP.Addr().String()+"/mesh")
			if err := tc.stop(); err != nil {
				t.Fatal(err)
			}
			// host1 keeps host3's routes (graceful restart).
			keepsRoutes(t, h1, blocks, 3*time.Second)
			if tc.cleanup {
				for _, blk := range blocksOf(t, b, h1.Name) {
					if r, err := ourRoute(h3, blk); err == nil {
						t.Errorf("a stopped daemon left its route %q", r)
					}
				}
			} else if _, err := reach(w1, w3); err != nil {
				// Nothing was cleaned up: traffic still flows both ways.
				t.Errorf("during the restart: %v", err)
			}
			if err := h3.Start(); err != nil {
				t.Fatal(err)
			}
			if !tc.cleanup {
				// The restarted daemon keeps what the killed one installed
				// until BGP has re-learned it: no gap for host3's workloads.
				for _, blk := range blocksOf(t, b, h1.Name) {
					if _, err := ourRoute(h3, blk); err != nil {
						t.Errorf("right after the restart: %v", err)
					}
				}
			}
			sessions(t, h1, h2IP(b)+"/mesh", h3.IP.Addr().String()+"/mesh")
			sessions(t, h3, h1.IP.Addr().String()+"/mesh", h2IP(b)+"/mesh")
			for _, blk := range blocksOf(t, b, h1.Name) {
				eventually(t, "host3 routes host1's blocks again", func() error {
					_, err := ourRoute(h3, blk)
					return err
				})
			}
			allReach(t, w1, w3)
			eventually(t, "host3 leaves its restart hold", func() error {
				st, err := h3.Status()
				if err != nil {
					return err
				}
				if st.Routes.KeepingStale || !st.Routes.InSync {
					return fmt.Errorf("routes %+v", st.Routes)
				}
				return nil
			})
		})
	}
}

func h2IP(b *testbed.Bed) string { return b.Hosts[1].IP.Addr().String() }
