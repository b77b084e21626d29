package datastore

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// fleetEndpoint is the stored JSON and key of endpoint k of a fleet
// shaped like fleetsim's (50 per host, 20 apps, 5 tiers).
func fleetEndpoint(t testing.TB, k int) (string, []byte) {
	node := fmt.Sprintf("fleetsim-h%05d", k/50)
	w := resources.NewWorkloadEndpoint(fmt.Sprintf("%s-libnetwork-libnetwork-%064x", node, k))
	w.Labels = map[string]string{resources.LabelOrchestrator: resources.OrchestratorLibnetwork,
		resources.LabelProfile: "fleetsim-net", resources.LabelNetwork: "fleetsim-net",
		"fleet-app": fmt.Sprintf("app-%d", k%20), "fleet-tier": fmt.Sprintf("tier-%d", k%5)}
	w.Spec = resources.WorkloadEndpointSpec{Orchestrator: resources.OrchestratorLibnetwork, Workload: fmt.Sprintf("fleet-%d", k),
		Node: node, Endpoint: fmt.Sprintf("%064x", k), Network: fmt.Sprintf("%064x", 7), Profiles: []string{"fleetsim-net"},
		InterfaceName: fmt.Sprintf("cali%011x", k), MAC: fmt.Sprintf("02:42:c6:%02x:%02x:%02x", k>>16&255, k>>8&255, k&255),
		IPNetworks: []string{fmt.Sprintf("198.18.%d.%d/32", k>>8&255, k&255)}}
	raw, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	key, err := KeyFor(resources.KindWorkloadEndpoint, w.Namespace, w.Name)
	if err != nil {
		t.Fatal(err)
	}
	return key, raw
}

// TestInternedDecodeSharesOnlyEqualValues: the syncer's decoder gives
// endpoints equal label maps, nodes and profile lists as one shared value,
// and decodes each object to exactly what the plain decoder does.
func TestInternedDecodeSharesOnlyEqualValues(t *testing.T) {
	decode := internedResources()
	var weps []*resources.WorkloadEndpoint
	for _, k := range []int{0, 20 * 5, 1} { // 0 and 100 share app, tier and node; 1 shares the node only
		key, raw := fleetEndpoint(t, k)
		u, ok, err := decode(key, raw, int64(k+1), false)
		plain, _, _ := decodeResource(key, raw, int64(k+1), false)
		if err != nil || !ok || !reflect.DeepEqual(u, plain) {
			t.Fatalf("endpoint %d: interned decode %+v, %v, %v; plain %+v", k, u, ok, err, plain)
		}
		weps = append(weps, u.Object.(*resources.WorkloadEndpoint))
	}
	same := func(a, b map[string]string) bool { return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer() }
	if !same(weps[0].Labels, weps[1].Labels) || same(weps[0].Labels, weps[2].Labels) {
		t.Errorf("label maps: 0~100 shared %v (want true), 0~1 shared %v (want false)",
			same(weps[0].Labels, weps[1].Labels), same(weps[0].Labels, weps[2].Labels))
	}
	if &weps[0].Spec.Profiles[0] != &weps[2].Spec.Profiles[0] || cap(weps[0].Spec.Profiles) != 1 {
		t.Error("equal profile lists are not shared, or shared with room to append into")
	}
	if maps.Equal(weps[0].Labels, weps[2].Labels) {
		t.Fatal("test endpoints 0 and 1 should differ in labels")
	}
}

// TestInternerStartsAfresh: the tables never grow past internMax.
func TestInternerStartsAfresh(t *testing.T) {
	in := newInterner()
	for i := range internMax + 10 {
		in.str(fmt.Sprint(i))
	}
	if n := len(in.strs); n > internMax || n == 0 {
		t.Fatalf("%d strings held, want 1..%d", n, internMax)
	}
}

// BenchmarkDecodeMemory reports the heap held per decoded fleet endpoint
// (50,000, as the cache holds them), by the plain decoder and by the
// syncer's interning one.
func BenchmarkDecodeMemory(b *testing.B) {
	const n = 50_000
	keys, raws := make([]string, n), make([][]byte, n)
	for k := range n {
		keys[k], raws[k] = fleetEndpoint(b, k)
	}
	for _, mode := range []string{"plain", "interned"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				decode := decodeResource
				if mode == "interned" {
					decode = internedResources()
				}
				before := liveHeap()
				held := make([]any, n)
				for k := range n {
					u, _, _ := decode(keys[k], raws[k], int64(k+1), false)
					held[k] = u.Object
				}
				b.ReportMetric(float64(liveHeap()-before)/n, "heapB/endpoint")
				runtime.KeepAlive(held)
			}
		})
	}
}

func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkDecodeEndpoint is the syncer's decode of one fleet endpoint's
// watch event (encoding/json into the typed struct), plain and interned.
func BenchmarkDecodeEndpoint(b *testing.B) {
	const n = 1000
	keys, raws := make([]string, n), make([][]byte, n)
	for k := range n {
		keys[k], raws[k] = fleetEndpoint(b, k)
	}
	for _, mode := range []string{"plain", "interned"} {
		b.Run(mode, func(b *testing.B) {
			decode := decodeResource
			if mode == "interned" {
				decode = internedResources()
			}
			b.ReportAllocs()
			k := 0
			for b.Loop() {
				if _, _, err := decode(keys[k%n], raws[k%n], int64(k+1), false); err != nil {
					b.Fatal(err)
				}
				k++
			}
		})
	}
}
