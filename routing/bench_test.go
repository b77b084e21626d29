package routing_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// reachableAfter polls (TCP, 10 ms attempts) until from reaches to and
// returns the time since start.
func reachableAfter(b *testing.B, from *testbed.Workload, to netip.AddrPort, start time.Time) time.Duration {
	deadline := time.Now().Add(converge)
	for {
		if _, err := from.NS.Reach(to, 10*time.Millisecond); err == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s never reached %s", from.Name, to)
		}
	}
}

// BenchmarkConvergence: a new workload on host1 is reachable from a
// workload on host2; the time from its Join returning (when Docker starts
// the container) to the first TCP connection that succeeds. "address"
// takes addresses of existing /26 blocks; in "block" every workload is the
// first of a new /30 block (the test fills the rest of each block), so
// BGP must also announce a new route first.
func BenchmarkConvergence(b *testing.B) {
	bed := sharedBed(b)
	for _, bc := range []struct {
		name      string
		blockSize int
		cidr      string
	}{{"address", 26, "10.233.0.0/16"}, {"block", 30, "10.234.0.0/16"}} {
		b.Run(bc.name, func(b *testing.B) {
			pool := resources.NewIPPool("conv-" + bc.name)
			pool.Spec.CIDR, pool.Spec.BlockSize = bc.cidr, bc.blockSize
			apply(b, bed, pool)
			net := network(b, bed, "conv-"+bc.name, netip.MustParsePrefix(bc.cidr))
			client := workload(b, bed.Hosts[1], net, nil)
			warm := workload(b, bed.Hosts[0], net, nil) // the first block, sessions up
			reachableAfter(b, client, netip.AddrPortFrom(warm.IP, 80), time.Now())
			fill := func() {} // leave host1 no free address in its blocks
			if bc.blockSize == 30 {
				b.Cleanup(func() {
					_ = ipam.New(bed.Store, bed.Hosts[0].Name).ReleaseByHandle(context.Background(), "bench-filler")
				})
				fill = func() { // a fresh allocator: it sees the block the daemon just claimed
					alloc := ipam.New(bed.Store, bed.Hosts[0].Name)
					_, _, err := alloc.AutoAssign(ctx(b), ipam.AutoAssignArgs{Handle: "bench-filler", Num4: 3,
						Pools: []netip.Prefix{netip.MustParsePrefix(bc.cidr)}})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			fill()
			var times []time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				w := workload(b, bed.Hosts[0], net, nil)
				b.StartTimer()
				times = append(times, reachableAfter(b, client, netip.AddrPortFrom(w.IP, 80), w.Joined))
				b.StopTimer()
				fill()
				b.StartTimer()
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*9/10].Microseconds())/1000, "p90-ms")
		})
	}
}

// BenchmarkLearnedRoutesMemory: a BIRD announces 10,000 routes to host1;
// reports the time until host1's kernel has them all and the daemon's
// resident memory before and after.
func BenchmarkLearnedRoutesMemory(b *testing.B) {
	bed := sharedBed(b)
	requireBed(b, "bird", "birdc")
	h := bed.Hosts[0]
	const n = 10000
	var static strings.Builder
	static.WriteString("protocol static many { ipv4;\n")
	for i := range n { // 100.64.0.0/24 upwards
		fmt.Fprintf(&static, "  route 100.%d.%d.0/24 unreachable;\n", 64+i/256, i%256)
	}
	static.WriteString("}\n")
	static.WriteString(fmt.Sprintf("protocol bgp %s { local as 64511; neighbor %s as 64512; ipv4 { import none; export where proto = \"many\"; }; }\n",
		h.Name, h.IP.Addr()))
	for range b.N {
		before, err := h.RSS()
		if err != nil {
			b.Fatal(err)
		}
		bird, err := bed.StartBIRD(fmt.Sprintf("many%d", time.Now().UnixNano()%1e6), 251, static.String())
		if err != nil {
			b.Fatal(err)
		}
		peer := resources.NewBGPPeer("many")
		peer.Spec.Node, peer.Spec.PeerIP, peer.Spec.ASNumber = h.Name, bird.IP.String(), 64511
		start := time.Now()
		apply(b, bed, peer)
		for count := 0; count < n; count = ourRouteCount(b, h) {
			if time.Since(start) > 2*time.Minute {
				b.Fatalf("host1 has %d of %d routes", count, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		installed := time.Since(start)
		time.Sleep(2 * time.Second) // let the heap settle
		after, err := h.RSS()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(installed.Seconds(), "install-s")
		b.ReportMetric(float64(before)/(1<<20), "rss-before-MiB")
		b.ReportMetric(float64(after)/(1<<20), "rss-after-MiB")
		if _, err := bed.Store.Delete(context.Background(), resources.KindBGPPeer, "", "many", ""); err != nil {
			b.Fatal(err)
		}
		if err := bird.Close(); err != nil { // the next round takes its address
			b.Fatal(err)
		}
		for ourRouteCount(b, h) > n/2 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func ourRouteCount(b *testing.B, h *testbed.Host) int {
	out, err := h.NS.Run("ip", "-4", "route", "show", "proto", "81")
	if err != nil {
		b.Fatal(err)
	}
	return strings.Count(out, "\n")
}
