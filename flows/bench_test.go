package flows

import (
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/flowlogs"
)

// BenchmarkCollectorMemory feeds 1,000,000 first packets with distinct
// tuples and destination ports (so distinct rows) into a collector with
// the default bounds (10,000 rows, 40,000 connections), closing an
// interval every 100,000; it reports the CPU per observed packet, the
// heap held afterwards and the rows and connections kept, which stay at
// the bounds whatever the input.
//
//	go test ./flows -run '^$' -bench CollectorMemory -benchtime 1x
func BenchmarkCollectorMemory(b *testing.B) {
	const n, perInterval = 1_000_000, 100_000
	for range b.N {
		c, table := setup(b, Config{Counters: counters{}}, "")
		deny := prefixOf(b, table, "deny", "ingress", "allow-bookstore-cliient-to-server", 1)
		allow := prefixOf(b, table, "allow", "ingress", "allow-bookstore-cliient-to-server", 0)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		var maxRows, maxConns int
		for i := range n {
			prefix, src := allow, netip.AddrFrom4([4]byte{10, 0, 0, 3})
			if i%2 == 0 {
				prefix, src = deny, netip.AddrFrom4([4]byte{10, 0, 0, 4})
			}
			c.Observe(flowlogs.Packet{Tuple: flowlogs.Tuple{Src: src, Dst: netip.AddrFrom4([4]byte{10, 0, 0, 2}), Proto: 6,
				SrcPort: uint16(i), DstPort: uint16(i / 7)}, Prefix: prefix, Bytes: 60})
			if i%perInterval == perInterval-1 {
				st := c.Stats()
				maxRows, maxConns = max(maxRows, st.Rows), max(maxConns, st.Conns)
				c.Close(time.Now())
			}
		}
		elapsed := time.Since(start)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		_, dropped := c.Ring().Query(Filter{Limit: 1})
		b.ReportMetric(float64(elapsed.Nanoseconds())/n, "ns/packet")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(maxRows), "max-rows")
		b.ReportMetric(float64(maxConns), "max-conns")
		b.ReportMetric(float64(dropped), "dropped")
	}
}
