package cache

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"testing"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

const fleetEndpoints = 50_000 // 1,000 hosts x 50

// remoteEndpoints decodes n labelled WorkloadEndpoints of other hosts from
// their stored JSON, as the syncer does.
func remoteEndpoints(b *testing.B, n int) []model.Update {
	b.Helper()
	ups := make([]model.Update, 0, n)
	for i := range n {
		host := fmt.Sprintf("host%04d", i/50)
		w := resources.NewWorkloadEndpoint(fmt.Sprintf("%s-libnetwork-libnetwork-%064x", host, i))
		w.Namespace = resources.DefaultNamespace
		w.Labels = map[string]string{"app": fmt.Sprint("app", i%20), "tier": []string{"web", "db", "cache"}[i%3],
			resources.LabelNetwork: fmt.Sprintf("net%d", i%5)}
		w.Spec = resources.WorkloadEndpointSpec{Node: host, Orchestrator: "libnetwork", Workload: "libnetwork",
			Endpoint: fmt.Sprintf("%064x", i), InterfaceName: fmt.Sprintf("cali%011x", i), MAC: "ee:ee:ee:ee:ee:ee",
			IPNetworks: []string{fmt.Sprintf("10.%d.%d.%d/32", 64+i>>16, i>>8&255, i&255)}, Profiles: []string{fmt.Sprintf("net%d", i%5)},
			Network: fmt.Sprintf("%064x", i%5)}
		raw, err := json.Marshal(w)
		if err != nil {
			b.Fatal(err)
		}
		obj, _ := resources.New(resources.KindWorkloadEndpoint)
		if err := json.Unmarshal(raw, obj); err != nil {
			b.Fatal(err)
		}
		obj.Meta().ResourceVersion = strconv.Itoa(i + 1)
		ups = append(ups, model.UpdateOf(obj))
	}
	return ups
}

func heap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkCacheMemory reports the heap held per remote endpoint with
// 50,000 labelled WorkloadEndpoints in the cache (object plus the cache's
// maps and indexes, against an empty cache in the same run), and the
// cache's own share (against the same decoded objects held in a slice).
func BenchmarkCacheMemory(b *testing.B) {
	for range b.N {
		base := heap()
		objs := remoteEndpoints(b, fleetEndpoints)
		withObjs := heap()
		c := New(Config{Node: "host-local"})
		c.Apply(model.SyncEvent{Full: true, Kinds: []string{resources.KindWorkloadEndpoint}, Updates: objs, Revision: 1})
		objs = nil
		withCache := heap()
		runtime.KeepAlive(c)
		b.ReportMetric(float64(withCache-base)/fleetEndpoints, "heapB/endpoint")
		b.ReportMetric(float64(withObjs-base)/fleetEndpoints, "objectB/endpoint")
		b.ReportMetric(float64(int64(withCache)-int64(withObjs))/fleetEndpoints, "cacheB/endpoint")
	}
}

// BenchmarkCacheApply is the cost of applying one endpoint update to a
// cache holding 50,000 endpoints, with one subscriber (its delivery runs
// on its own goroutine).
func BenchmarkCacheApply(b *testing.B) {
	ups := remoteEndpoints(b, fleetEndpoints)
	c := New(Config{Node: "host0000"})
	c.Apply(model.SyncEvent{Full: true, Kinds: []string{resources.KindWorkloadEndpoint}, Updates: ups, Revision: 1})
	defer c.Subscribe("bench", []string{resources.KindWorkloadEndpoint}, func(model.SyncEvent) {})()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		u := ups[i%len(ups)]
		u.Revision = int64(fleetEndpoints + i + 2)
		c.Apply(model.SyncEvent{Updates: []model.Update{u}, Revision: u.Revision})
	}
}

// BenchmarkCacheEndpointsOfSandbox is a Join's question with 50,000
// remote endpoints and two local ones in the sandbox.
func BenchmarkCacheEndpointsOfSandbox(b *testing.B) {
	ups := remoteEndpoints(b, fleetEndpoints)
	for _, n := range []string{"x", "y"} {
		w := resources.NewWorkloadEndpoint("local-" + n)
		w.Namespace = resources.DefaultNamespace
		w.ResourceVersion = "1"
		w.Spec.Node = "host-local"
		w.Annotations = map[string]string{model.AnnotationSandbox: "/var/run/docker/netns/abc"}
		ups = append(ups, model.UpdateOf(w))
	}
	c := New(Config{Node: "host-local"})
	c.Apply(model.SyncEvent{Full: true, Kinds: []string{resources.KindWorkloadEndpoint}, Updates: ups, Revision: 1})
	b.Run("index", func(b *testing.B) {
		for range b.N {
			if len(c.EndpointsOfSandbox("/var/run/docker/netns/abc")) != 2 {
				b.Fatal("wrong answer")
			}
		}
	})
	// The baseline: the filter sandboxPeers ran over every endpoint of
	// the cluster (here already in memory, without etcd's list).
	b.Run("scan", func(b *testing.B) {
		for range b.N {
			n := 0
			for _, r := range c.Resources(resources.KindWorkloadEndpoint) {
				w := r.(*resources.WorkloadEndpoint)
				if w.Spec.Node == "host-local" && w.Annotations[model.AnnotationSandbox] == "/var/run/docker/netns/abc" {
					n++
				}
			}
			if n != 2 {
				b.Fatal("wrong answer")
			}
		}
	})
}
