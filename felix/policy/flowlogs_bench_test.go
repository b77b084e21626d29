package policy_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/flows"
	"github.com/calico-docker/calico-libnetwork/model"
)

// flowBed is a bed with a sender and a receiver workload (profile net1),
// and with flow logs on, the collection the daemon runs: felix's reader
// (NFLOG + conntrack) into a flows.Collector.
type flowBed struct {
	*bed
	sink netip.AddrPort
	col  *flows.Collector
}

func newFlowBed(b *testing.B, on bool) *flowBed {
	bd := newBed(b, felix.Config{Policy: true, FlowLogs: on, ResyncInterval: time.Hour}, decode(b, networkProfiles)...)
	bd.addWorkload("sender", 1, []string{"net1"}, map[string]string{"role": "client"})
	recv := bd.addWorkload("receiver", 2, []string{"net1"}, map[string]string{"role": "server"})
	fb := &flowBed{bed: bd, sink: sinkTCP(b, recv.NS, netip.AddrPortFrom(recv.V4, throughputPort))}
	if !on {
		return fb
	}
	reader, err := bd.dp.OpenFlowLogs()
	if err != nil {
		b.Fatal(err)
	}
	dir := flows.NewDirectory(nil)
	dir.OnSyncEvent(model.SyncEvent{Full: true, Updates: bd.updates(storeObjects(bd), false)})
	fb.col = flows.NewCollector(flows.Config{Node: node, Rules: bd.dp, Counters: reader, Directory: dir, Interval: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(func() { cancel(); reader.Close() })
	go func() { _ = reader.Run(ctx, fb.col.Observe) }()
	go fb.col.Run(ctx)
	return fb
}

// BenchmarkFlowLogs compares, in one run, a dataplane with flow logs off
// and one with them on (each in its own host namespace, same workloads):
//
//   - throughput: one TCP stream sender → receiver (interleaved rounds,
//     medians; goal on/off ≥ 0.95);
//
//   - policy-apply: a policy added or removed → programmed (median);
//
//   - cpu: this process's CPU while 1,000 new connections/s run through
//     each, in alternating one-second windows (6 s each); (on − off) / wall
//     time is what flow logs cost, as a share of one core (goal ≤ 10 %);
//
//   - rows and tracked connections the collector holds afterwards.
//
//     go test ./felix/policy -run '^$' -bench FlowLogs -benchtime 1x
func BenchmarkFlowLogs(b *testing.B) {
	off, on := newFlowBed(b, false), newFlowBed(b, true)
	const rounds, bytesPerRound = 11, 128 << 20
	var tOff, tOn, aOff, aOn []float64
	for i := range rounds * b.N {
		first, second := off, on // alternate which goes first
		if i%2 == 1 {
			first, second = on, off
		}
		r1, r2 := first.streamRate(b, "sender", first.sink, bytesPerRound), second.streamRate(b, "sender", second.sink, bytesPerRound)
		if first == on {
			r1, r2 = r2, r1
		}
		tOff, tOn = append(tOff, r1), append(tOn, r2)
		aOff = append(aOff, applyLatency(off.bed)...)
		aOn = append(aOn, applyLatency(on.bed)...)
	}
	b.ReportMetric(median(tOff), "MB/s-off")
	b.ReportMetric(median(tOn), "MB/s-on")
	b.ReportMetric(median(tOn)/median(tOff), "throughput-ratio")
	b.ReportMetric(median(aOff), "apply-ms-off")
	b.ReportMetric(median(aOn), "apply-ms-on")
	const rate, secs = 1000, 6
	var cpuOff, cpuOn float64
	var nOff, nOn int
	for i := range secs { // alternating one-second windows, alternating which goes first
		pair := []*flowBed{off, on}
		if i%2 == 1 {
			pair = []*flowBed{on, off}
		}
		for _, fb := range pair {
			c, n := connectLoad(b, fb, rate, 1)
			if fb == on {
				cpuOn, nOn = cpuOn+c, nOn+n
			} else {
				cpuOff, nOff = cpuOff+c, nOff+n
			}
		}
	}
	b.ReportMetric(float64(nOff)/secs, "conn/s-off")
	b.ReportMetric(float64(nOn)/secs, "conn/s-on")
	b.ReportMetric(cpuOff/secs*100, "cpu%-off")
	b.ReportMetric(cpuOn/secs*100, "cpu%-on")
	b.ReportMetric((cpuOn-cpuOff)/secs*100, "cpu%-flowlogs")
	time.Sleep(1500 * time.Millisecond) // an interval closes
	rows, dropped := on.col.Ring().Query(flows.Filter{Limit: flows.MaxLimit})
	var counted uint64
	for _, r := range rows {
		counted += r.Flows
	}
	b.ReportMetric(float64(counted)/float64(nOn), "logged/connections")
	b.ReportMetric(float64(on.col.Stats().Conns), "tracked-conns")
	b.ReportMetric(float64(dropped), "dropped")
}

// applyLatency adds and removes a policy, timing each until programmed.
func applyLatency(bd *bed) []float64 {
	pol := `apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: bench-deny-udp}
spec: {selector: role == 'server', ingress: [{action: Deny, protocol: UDP}, {action: Allow}]}
`
	var out []float64
	for _, y := range []string{pol, ""} {
		start := time.Now()
		bd.setPolicies(y)
		out = append(out, float64(time.Since(start).Microseconds())/1000)
	}
	return out
}

// connectLoad opens (and closes) rate new TCP connections per second from
// sender to receiver for secs seconds; it returns this process's CPU
// seconds meanwhile and the connections made.
func connectLoad(b *testing.B, fb *flowBed, rate, secs int) (float64, int) {
	runtime.GC()
	before := cpuSeconds()
	made := 0
	err := fb.ns("sender").NS.Do(func() error {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		end := time.Now().Add(time.Duration(secs) * time.Second)
		for now := range tick.C {
			if now.After(end) {
				return nil
			}
			for range rate / 100 {
				c, err := net.DialTimeout("tcp", fb.sink.String(), time.Second)
				if err != nil {
					return fmt.Errorf("connection %d: %w", made, err)
				}
				c.Close()
				made++
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return cpuSeconds() - before, made
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
