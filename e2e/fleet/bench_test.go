package fleet

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/fleetsim"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Pools: the daemon's default pool (its own containers) and the fleet's.
const (
	defaultPool = "192.168.0.0/16"
	fleetPool   = "198.18.0.0/15"
	pluginDir   = "/run/docker/plugins" // the only place dockerd looks
)

// BenchmarkFleet runs the real daemon on this host, with the test
// dockerd and a real etcd process, first in an empty fleet, then with
// fleetsim's simulated hosts (CALICO_FLEET_HOSTS, default 1000, ×
// CALICO_FLEET_ENDPOINTS, default 50, endpoints) in the same run, and
// reports:
//
//   - run-empty-ms, run-fleet-ms, run-fleet/empty: `docker run --rm`
//     median on a calico network (CALICO_BENCH_ROUNDS runs, default 15);
//   - etcd-req/start-0, -10k, -full and etcd-KB/start-…: etcd requests
//     (unary gRPC calls) and bytes in+out per container start, read from
//     etcd's own metrics, the daemon's idle traffic subtracted; "10k" is a
//     fifth of the fleet;
//   - rss-empty-MiB, rss-fleet-MiB, rss-B/remote-ep;
//   - churn-cpu-%: daemon CPU while the fleet churns CALICO_FLEET_CHURN
//     (default 100) endpoint changes/s for CALICO_FLEET_CHURN_FOR (20s),
//     with watch-msgs/s and etcd-writes/s seen meanwhile;
//   - policy-empty-p50-ms, policy-fleet-p50-ms: a NetworkPolicy change
//     until iptables holds it, with local containers the fleet's policies
//     select (so remote endpoints sit in their source IP sets);
//   - stored-B/host: etcd key+value bytes per simulated host.
//
// Quick try: CALICO_FLEET_HOSTS=40 CALICO_BENCH_ROUNDS=5
// CALICO_FLEET_CHURN_FOR=5s go test ./e2e/fleet -run '^$' -bench Fleet
func BenchmarkFleet(b *testing.B) {
	hosts := envInt(b, "CALICO_FLEET_HOSTS", 1000)
	eph := envInt(b, "CALICO_FLEET_ENDPOINTS", 50)
	rounds := envInt(b, "CALICO_BENCH_ROUNDS", 15)
	churnRate := float64(envInt(b, "CALICO_FLEET_CHURN", 100))
	churnFor := envDuration(b, "CALICO_FLEET_CHURN_FOR", 20*time.Second)
	ctx := context.Background()

	requireFreeRanges(b, defaultPool, fleetPool)
	lockPluginDir(b)
	etcd := startEtcd(b, 1)[0]
	store := storeOf(b, []string{etcd.clientURL()})
	fl, err := fleetsim.New(store, fleetsim.Config{Hosts: hosts, EndpointsPerHost: eph, PoolCIDR: fleetPool, DisableMesh: true})
	if err != nil {
		b.Fatal(err)
	}
	// The daemon makes its default pool only when no pool exists; the
	// fleet's pool would stop it, so store it first, as the daemon would.
	dp := resources.NewIPPool("default-ipv4-ippool")
	dp.Spec.CIDR, dp.Spec.NATOutgoing = defaultPool, true
	if _, err := store.Apply(ctx, dp); err != nil {
		b.Fatal(err)
	}
	if err := fl.Setup(ctx); err != nil { // the mesh is off before the daemon starts
		b.Fatal(err)
	}
	e := newEngine(b)
	d := startDaemon(b, "fleet-bench", pluginDir, []string{etcd.clientURL()}, "DOCKER_HOST="+e.host)
	bed := newBed(b, e, store)
	bed.run() // warm up: image, plugin activation, first block
	r := &report{b: b}

	d.settle(2 * time.Minute)
	r.add("rss-empty-MiB", d.rss()/(1<<20))
	runs0, per0 := bed.starts(etcd, rounds)
	r.add("run-empty-ms", ms(median(runs0)))
	r.perStart("0", per0)
	r.add("policy-empty-p50-ms", ms(bed.policyP50(ctx, 20)))
	before := storedBytes(b, store)

	tenth := max(1, hosts/5)
	r.timed("load-10k-s", func() { mustLoad(b, fl, tenth) })
	r.add("settle-10k-s", d.settle(5*time.Minute).Seconds())
	_, per10 := bed.starts(etcd, max(3, rounds/3))
	r.perStart("10k", per10)

	r.timed("load-full-s", func() { mustLoad(b, fl, hosts) })
	r.add("settle-full-s", d.settle(10*time.Minute).Seconds())
	remote := float64(fl.Present())
	r.add("stored-B/host", (storedBytes(b, store)-before)/float64(hosts))
	rss := d.rss()
	r.add("rss-fleet-MiB", rss/(1<<20))
	r.add("rss-B/remote-ep", (rss-r.get("rss-empty-MiB")*(1<<20))/remote)
	runs1, per1 := bed.starts(etcd, rounds)
	r.add("run-fleet-ms", ms(median(runs1)))
	r.add("run-fleet/empty", r.get("run-fleet-ms")/r.get("run-empty-ms"))
	r.perStart("full", per1)
	r.add("policy-fleet-p50-ms", ms(bed.policyP50(ctx, 20)))
	r.add("idle-cpu-%", 100*d.cpuShare(func() { time.Sleep(5 * time.Second) }))

	c0 := etcd.counters()
	var st fleetsim.ChurnStats
	r.add("churn-cpu-%", 100*d.cpuShare(func() {
		if st, err = fl.Churn(ctx, churnRate, churnFor, 1); err != nil {
			b.Error(err)
		}
	}))
	dc := etcd.counters().sub(c0)
	r.add("churn-changes/s", st.Rate())
	r.add("churn-watch-msgs/s", dc.WatchSent/st.Duration.Seconds())
	r.add("churn-etcd-writes/s", (dc.ByMethod["Txn"]+dc.ByMethod["Put"]+dc.ByMethod["DeleteRange"])/st.Duration.Seconds())
	requireNoRouteInto(b, fleetPool)
	b.ReportMetric(0, "ns/op")
	b.Logf("fleet %d hosts × %d endpoints (%d remote endpoints at the end):\n%s", hosts, eph, int(remote), r)
}

func mustLoad(b *testing.B, fl *fleetsim.Fleet, hosts int) {
	if err := fl.LoadTo(context.Background(), hosts); err != nil {
		b.Fatal(err)
	}
}

// storedBytes sums key and value sizes of everything under /calico.
func storedBytes(b *testing.B, s *datastore.Store) float64 {
	kvs, _, err := s.ListKeys(context.Background(), datastore.Prefix+"/", false)
	if err != nil {
		b.Fatal(err)
	}
	var n int
	for _, kv := range kvs {
		n += len(kv.Key) + len(kv.Value)
	}
	return float64(n)
}

// report collects the benchmark's figures in order.
type report struct {
	b      *testing.B
	names  []string
	values map[string]float64
}

func (r *report) add(name string, v float64) {
	if r.values == nil {
		r.values = map[string]float64{}
	}
	r.names = append(r.names, name)
	r.values[name] = v
	r.b.ReportMetric(v, name)
}

func (r *report) get(name string) float64 { return r.values[name] }

func (r *report) timed(name string, fn func()) {
	t0 := time.Now()
	fn()
	r.add(name, time.Since(t0).Seconds())
}

func (r *report) perStart(at string, c etcdCounters) {
	r.add("etcd-req/start-"+at, c.Unary)
	r.add("etcd-KB/start-"+at, (c.BytesIn+c.BytesOut)/1024)
	r.b.Logf("etcd requests per container start at %s: %v", at, c.ByMethod)
}

func (r *report) String() string {
	var sb strings.Builder
	for _, n := range r.names {
		fmt.Fprintf(&sb, "  %-22s %.3f\n", n, r.values[n])
	}
	return sb.String()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envInt(b testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: give a positive integer", name, v)
	}
	return n
}

func envDuration(b testing.TB, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: give a positive duration such as 20s", name, v)
	}
	return d
}
