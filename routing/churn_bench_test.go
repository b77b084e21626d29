package routing

import (
	"os"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPlanChurn: the Router of one node in a 1,000-node VXLAN
// cluster (every node with an address, a VTEP and a block) while
// containers on the other nodes come and go at 100 changes/s for
// CALICO_ROUTING_CHURN_FOR (default 10s): endpoints, and their addresses
// in their own nodes' blocks; no input of the plan changes. In
// "every-second" the loop is also woken once a second, as it was before
// it planned on input changes only (the baseline, measured in the same
// run); "on-change" is the Router as it is. Reports:
//
//   - plans/s: plans made during the churn;
//   - routing-cpu-%: the time the loop spent planning during the churn,
//     per second of churn (one goroutine computing: a core's share);
//   - plan-ms: one plan over the 1,000 nodes (nothing to hand over),
//     median of 21 made after the churn;
//   - process-cpu-%: this process during the churn, the cache applying
//     the changes included (the same work in both).
func BenchmarkPlanChurn(b *testing.B) {
	window := 10 * time.Second
	if v := os.Getenv("CALICO_ROUTING_CHURN_FOR"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatalf("CALICO_ROUTING_CHURN_FOR=%q: %v; give a duration such as 10s", v, err)
		}
		window = d
	}
	for _, mode := range []string{"every-second", "on-change"} {
		b.Run(mode, func(b *testing.B) {
			f := newTestFleet(1000)
			r := startRouter(b, f, DefaultResync)
			waitFor(b, "the first plan", func() bool { return r.routed(fleetBlock(999)) })
			stop := make(chan struct{})
			if mode == "every-second" {
				go func() {
					tick := time.NewTicker(time.Second)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							r.poke()
						}
					}
				}()
			}
			b.ResetTimer()
			var plansPerS, planShare, cpu float64
			for range b.N {
				plans0, time0, cpu0, start := r.plans.Load(), r.planTime.Load(), cpuTime(b), time.Now()
				churnFor(f, 100, window)
				elapsed := time.Since(start)
				plansPerS = float64(r.plans.Load()-plans0) / elapsed.Seconds()
				planShare = time.Duration(r.planTime.Load()-time0).Seconds() / elapsed.Seconds()
				cpu = (cpuTime(b) - cpu0).Seconds() / elapsed.Seconds()
			}
			b.StopTimer()
			close(stop)
			var took []time.Duration
			for range 21 {
				start := time.Now()
				r.plan()
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(plansPerS, "plans/s")
			b.ReportMetric(100*planShare, "routing-cpu-%")
			b.ReportMetric(float64(took[10].Microseconds())/1000, "plan-ms")
			b.ReportMetric(100*cpu, "process-cpu-%")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// churnFor makes rate container changes per second on f for d.
func churnFor(f *testFleet, rate int, d time.Duration) {
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for k, end := 0, time.Now().Add(d); time.Now().Before(end); k++ {
		<-tick.C
		f.churn(k)
	}
}

// cpuTime is the CPU time this process has used (user + system).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
