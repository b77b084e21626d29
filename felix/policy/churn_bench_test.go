package policy_test

import (
	"runtime"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/policy"
	"github.com/calico-docker/calico-libnetwork/internal/fleetsim"
	"github.com/calico-docker/calico-libnetwork/model"
)

// BenchmarkRemoteChurn is the Calculator's share of one remote endpoint
// change in a simulated fleet (fleetsim's 200 hosts × 50 endpoints and 20
// policies, one local endpoint): the change applied and the filter state
// rendered when a render could show it (RenderIfChanged), as felix's loop
// does when it applies each change alone. No kernel, no root. Run with
// -cpuprofile to see where it goes. heap-B/ep is the Calculator's live
// heap per endpoint after its first render; rendered-% the share of
// changes that needed a render.
func BenchmarkRemoteChurn(b *testing.B) {
	remoteChurn(b, fleetsim.Config{Hosts: 200, EndpointsPerHost: 50}.Defaults())
}

// BenchmarkRemoteChurnManySelectors is BenchmarkRemoteChurn with 2,000
// policies of 2,000 distinct source selectors, 500 of which select the
// local endpoint (so 500 member sets are cached): what one remote
// endpoint's change costs when many selectors are held.
func BenchmarkRemoteChurnManySelectors(b *testing.B) {
	remoteChurn(b, fleetsim.Config{Hosts: 200, EndpointsPerHost: 50, Policies: 2000, Apps: 2000}.Defaults())
}

func remoteChurn(b *testing.B, cfg fleetsim.Config) {
	ev := fleetEvent(cfg, 0) // netsets_bench_test.go
	before := liveHeap()
	c := policy.NewCalculator(policy.Config{NodeName: "local", IPVersions: []int{4}})
	c.Apply(ev)
	out := c.Render()
	// The Calculator's own heap per endpoint (the objects are the cache's).
	heap := float64(liveHeap()-before) / float64(len(ev.Updates))
	runtime.KeepAlive(out)
	b.ResetTimer()
	rendered := 0
	for n := range b.N {
		h, i := 1+n%(cfg.Hosts-1), (n/cfg.Hosts)%cfg.EndpointsPerHost
		c.Apply(model.SyncEvent{Updates: []model.Update{model.UpdateOf(cfg.Endpoint(h, i, n))}})
		if _, changed := c.RenderIfChanged(); changed {
			rendered++
		}
	}
	b.ReportMetric(heap, "heap-B/ep")
	b.ReportMetric(100*float64(rendered)/float64(b.N), "rendered-%")
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
