package policy_test

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// throughputPort is where the receiving workload sinks a TCP stream.
const throughputPort = 5001

// BenchmarkThroughputWithPolicies measures TCP throughput between two
// workloads on one host with nothing else installed, and with n other
// local endpoints and n policies (each selecting one of those others)
// installed, in interleaved rounds of the same run. It reports both rates
// and the median of the rounds' ratios (goal: with/without >= 0.97). n is
// CALICO_BENCH_SCALE (default 1000), the dataplanes
// CALICO_BENCH_DATAPLANES, as for BenchmarkPolicyApply.
//
//	go test ./felix/policy -run '^$' -bench ThroughputWithPolicies -benchtime 1x
func BenchmarkThroughputWithPolicies(b *testing.B) {
	n := felixtest.BenchScale(b)
	for _, dp := range benchDataplanes() {
		b.Run(dp, func(b *testing.B) { benchThroughput(b, dp, n) })
	}
}

func benchThroughput(b *testing.B, dataplane string, n int) {
	bd, sink := newStreamBed(b, dataplane)
	others := otherObjects(n)
	bd.pairedRounds(b, sink, func() { bd.put(others...) }, func() { bd.remove(others...) },
		fmt.Sprintf("MB/s-with-%d-policies", n))
}

// newStreamBed is a bed with a sender and a receiving workload whose sink
// takes TCP streams, and nothing else.
func newStreamBed(b *testing.B, dataplane string) (*bed, netip.AddrPort) {
	// A production-like resync interval: the bed's 500 ms default would run a
	// full read-back of 15k rules during the "with" rounds and steal the CPU.
	cfg := dataplaneConfig(dataplane)
	cfg.Policy, cfg.ResyncInterval = true, time.Hour
	bd := newBed(b, cfg, decode(b, networkProfiles)...)
	bd.addWorkload("sender", 1, []string{"net1"}, map[string]string{"role": "client"})
	recv := bd.addWorkload("receiver", 2, []string{"net1"}, map[string]string{"role": "server"})
	return bd, sinkTCP(b, recv.NS, netip.AddrPortFrom(recv.V4, throughputPort))
}

// pairedRounds streams from the sender to sink without and with what on
// installs (off removes it again), in seven rounds of two streams, and
// reports both rates (the second as withUnit) and the median of the
// rounds' with/without ratios.
func (b *bed) pairedRounds(tb *testing.B, sink netip.AddrPort, on, off func(), withUnit string) {
	const rounds, bytesPerRound = 7, 1 << 30
	var without, with []float64
	for i := 0; i < rounds*tb.N; i++ {
		// Odd rounds stream with it first: whatever the streams right
		// after a put or a remove have in common falls on both sides.
		if i%2 == 0 {
			without = append(without, b.streamRate(tb, "sender", sink, bytesPerRound))
		}
		on()
		with = append(with, b.streamRate(tb, "sender", sink, bytesPerRound))
		off()
		if i%2 == 1 {
			without = append(without, b.streamRate(tb, "sender", sink, bytesPerRound))
		}
	}
	// The ratio is the median of each round's with/without: a round's two
	// streams run back to back, so a change of the machine's load between
	// rounds cancels out, and half the rounds run them in each order.
	// 1 GiB a stream (~0.8 s on this machine; with 256 MiB streams and the
	// ratio of the two medians it moved ±0.15 between identical runs).
	ratios := make([]float64, len(with))
	for i := range with {
		ratios[i] = with[i] / without[i]
	}
	tb.ReportMetric(median(without), "MB/s-without")
	tb.ReportMetric(median(with), withUnit)
	tb.ReportMetric(median(ratios), "ratio")
}

// otherObjects returns n WorkloadEndpoints on this node (no interface:
// they only add dispatch rules and group chains) and n policies, policy i
// selecting endpoint i and allowing TCP 80 from endpoint i+1.
func otherObjects(n int) []resources.Resource {
	tcp, _ := resources.ParseProtocol("TCP")
	var out []resources.Resource
	for i := 0; i < n; i++ {
		w := resources.NewWorkloadEndpoint(fmt.Sprintf("other-%d", i))
		w.Spec.Node, w.Spec.InterfaceName = node, rules.ScaleIface(i)
		w.Spec.IPNetworks = []string{fmt.Sprintf("10.77.%d.%d/32", i/250, i%250+1)}
		w.Spec.Profiles = []string{"net1"}
		w.Labels = map[string]string{"app": fmt.Sprintf("other-%d", i)}
		p := resources.NewGlobalNetworkPolicy(fmt.Sprintf("other-%d", i))
		order := float64(i)
		p.Spec.Order = &order
		p.Spec.Selector = fmt.Sprintf("app == 'other-%d'", i)
		p.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow, Protocol: &tcp,
			Source:      resources.EntityRule{Selector: fmt.Sprintf("app == 'other-%d'", (i+1)%n)},
			Destination: resources.EntityRule{Ports: []resources.Port{{Min: 80, Max: 80}}}}}
		out = append(out, w, p)
	}
	return out
}

// streamRate sends n bytes from a workload to addr over one TCP
// connection and returns MB/s.
func (b *bed) streamRate(tb testing.TB, from string, addr netip.AddrPort, n int64) float64 {
	tb.Helper()
	// The sender and the sink are goroutines of this process, which also
	// holds felix's state: a garbage collection set off by the last
	// change (1,000 policies put or removed) would run during the stream
	// and take its CPU. A daemon finishes that long before steady traffic;
	// so finish it before timing.
	runtime.GC()
	var c net.Conn
	err := b.ns(from).NS.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", addr.String(), 5*time.Second)
		return err
	})
	if err != nil {
		tb.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	defer c.Close()
	buf := make([]byte, 256<<10)
	start := time.Now()
	if _, err := io.CopyN(c, zeros{buf}, n); err != nil {
		tb.Fatalf("stream to %s: %v", addr, err)
	}
	return float64(n) / (1 << 20) / time.Since(start).Seconds()
}

// sinkTCP accepts connections on addr inside n and discards what they send.
func sinkTCP(tb testing.TB, n *felixtest.NS, addr netip.AddrPort) netip.AddrPort {
	tb.Helper()
	var l net.Listener
	if err := n.NS.Do(func() (err error) { l, err = net.Listen("tcp", addr.String()); return err }); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	return addr
}

type zeros struct{ buf []byte }

func (z zeros) Read(p []byte) (int, error) { return copy(p, z.buf), nil }

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
