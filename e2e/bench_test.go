package e2e

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// BenchmarkDockerRun times `docker run --rm IMAGE true` on a calico
// network, on the default bridge, on a user-defined bridge network and
// with --network none: at least 20 rounds (CALICO_BENCH_ROUNDS) per b.N,
// the modes interleaved in a rotating order so drift hits them alike. It
// reports each mode's median, calico/bridge (the goal: at most
// 1.05) and calico/userbridge. Every user-defined network, calico's
// included, gets Docker's embedded DNS resolver, which the default bridge
// does not have, so the user-defined bridge is the like-for-like baseline.
//
//	go test ./e2e -run '^$' -bench DockerRun -benchtime 1x
func BenchmarkDockerRun(b *testing.B) {
	e := newEngine(b)
	requireFreeRanges(b, defaultPool)
	startDaemon(b, e.host)
	calicoNet := e.network("bench")
	userBridge := "calt-bench-bridge"
	e.must("network", "create", "-d", "bridge", "--subnet", "10.233.0.0/24", userBridge)
	b.Cleanup(func() { e.must("network", "rm", userBridge) })
	modes := []struct {
		name string
		args []string
	}{
		{"calico", []string{"--net", calicoNet}},
		{"bridge", []string{"--net", "bridge"}},
		{"none", []string{"--network", "none"}},
		{"userbridge", []string{"--net", userBridge}},
	}
	rounds := 20
	if n, err := strconv.Atoi(os.Getenv("CALICO_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	run := func(args []string) time.Duration {
		full := append(append([]string{"run", "--rm"}, args...), testenv.TestImage(), "true")
		start := time.Now()
		e.must(full...)
		return time.Since(start)
	}
	for _, m := range modes { // warm up: image, plugin activation, first block
		run(m.args)
	}
	times := make([][]time.Duration, len(modes))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			for j := range modes {
				k := (r + j) % len(modes)
				times[k] = append(times[k], run(modes[k].args))
			}
		}
	}
	b.StopTimer()
	med := make([]float64, len(modes))
	for k, m := range modes {
		med[k] = median(times[k]).Seconds() * 1000
		b.ReportMetric(med[k], m.name+"-ms")
	}
	b.ReportMetric(med[0]/med[1], "calico/bridge")
	b.ReportMetric(med[0]/med[3], "calico/userbridge")
	b.ReportMetric(0, "ns/op") // the per-mode medians are the result
	b.Logf("medians over %d runs each: calico %.1f ms, bridge %.1f ms, user bridge %.1f ms, none %.1f ms; calico/bridge %.3f, calico/userbridge %.3f",
		len(times[0]), med[0], med[1], med[3], med[2], med[0]/med[1], med[0]/med[3])
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkLabelWindow measures how long an endpoint drops all traffic
// after Join because its container's labels are not stored yet (they are
// read from the engine after Join): CALICO_BENCH_ROUNDS containers (default
// 20) are started on one network, four at a time, and the daemon's
// "sinceJoin" of each is read from its log. It reports the median and the
// maximum.
//
//	go test ./e2e -run '^$' -bench LabelWindow -benchtime 1x
func BenchmarkLabelWindow(b *testing.B) {
	e := newEngine(b)
	requireFreeRanges(b, defaultPool)
	d := startDaemon(b, e.host)
	n := e.network("labels")
	rounds := 20
	if r, err := strconv.Atoi(os.Getenv("CALICO_BENCH_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	var names []string
	var mu sync.Mutex
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Four at a time: endpoints of one network waiting together.
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Go(func() {
				for r := w; r < rounds; r += 4 {
					c := e.name(fmt.Sprintf("l%d-%d", i, r))
					b.Cleanup(func() { _, _ = e.try("rm", "-f", c) })
					if _, err := e.try("run", "-d", "--name", c, "--net", n, "--label", "org.projectcalico.label.role=bench",
						testenv.TestImage(), "sleep", "600"); err != nil {
						b.Error(err) // not Fatal: this is not the benchmark's goroutine
						return
					}
					mu.Lock()
					names = append(names, c)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	var ws []time.Duration
	testenv.Eventually(b, 30*time.Second, 100*time.Millisecond, func() error {
		got := labelWindows(d)
		ws = ws[:0]
		for _, c := range names {
			if w, ok := got[c]; ok {
				ws = append(ws, w)
			}
		}
		if len(ws) < len(names) {
			return fmt.Errorf("labels stored for %d of %d containers", len(ws), len(names))
		}
		return nil
	})
	slices.Sort(ws)
	b.ReportMetric(float64(median(ws).Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(ws[len(ws)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("Join to labels stored over %d containers: median %v, max %v", len(ws), median(ws), ws[len(ws)-1])
}
