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
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Pools: the daemon's default pool (its own containers) and the fleet's.
const (
	defaultPool = "192.168.0.0/16"
	fleetPool   = "198.18.0.0/15"
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
//   - churn-cpu-% (and -children-%: the tools it runs, iptables-restore,
//     ipset): daemon CPU while the fleet churns CALICO_FLEET_CHURN
//     (default 100) endpoint changes/s for CALICO_FLEET_CHURN_FOR (20s),
//     with the watch messages, etcd writes and KB etcd sent per second
//     meanwhile (this host's share of the fan-out);
//   - policy-empty-p50-ms, policy-fleet-p50-ms: a NetworkPolicy change
//     until iptables holds it, with local containers the fleet's policies
//     select (so remote endpoints sit in their source IP sets);
//   - stored-B/host: etcd key+value bytes per simulated host.
//
// Quick try: CALICO_FLEET_HOSTS=40 CALICO_BENCH_ROUNDS=5
// CALICO_FLEET_CHURN_FOR=5s go test ./e2e/fleet -run '^$' -bench Fleet
func BenchmarkFleet(b *testing.B) {
	fx := newFixture(b)
	r := &report{b: b}
	fx.measureEmpty(r)
	fx.measureGrown(r)
	fx.measureChurn(r)
	requireNoRouteInto(b, fleetPool)
	b.ReportMetric(0, "ns/op")
	b.Logf("fleet %d hosts × %d endpoints (%d remote endpoints at the end):\n%s",
		fx.hosts, fx.fl.Config().EndpointsPerHost, fx.fl.Present(), r)
}

// fixture is one BenchmarkFleet run: etcd, the store, the fleet, the
// daemon, the local bed, and the settings read from the environment.
type fixture struct {
	b         *testing.B
	ctx       context.Context
	etcd      *etcdMember
	store     *datastore.Store
	fl        *fleetsim.Fleet
	d         *daemon
	bed       *bed
	hosts     int
	rounds    int
	churnRate float64
	churnFor  time.Duration
	stored0   float64 // bytes under /calico before the fleet was loaded
}

func newFixture(b *testing.B) *fixture {
	fx := &fixture{b: b, ctx: context.Background(),
		hosts:     envInt(b, "CALICO_FLEET_HOSTS", 1000),
		rounds:    envInt(b, "CALICO_BENCH_ROUNDS", 15),
		churnRate: float64(envInt(b, "CALICO_FLEET_CHURN", 100)),
		churnFor:  envDuration(b, "CALICO_FLEET_CHURN_FOR", 20*time.Second)}
	requireFreeRanges(b, defaultPool, fleetPool)
	testenv.LockPluginDir(b)
	fx.etcd = startEtcd(b, 1)[0]
	fx.store = storeOf(b, []string{fx.etcd.clientURL()})
	var err error
	fx.fl, err = fleetsim.New(fx.store, fleetsim.Config{Hosts: fx.hosts, EndpointsPerHost: envInt(b, "CALICO_FLEET_ENDPOINTS", 50),
		PoolCIDR: fleetPool, DisableMesh: true})
	if err != nil {
		b.Fatal(err)
	}
	// The daemon makes its default pool only when no pool exists; the
	// fleet's pool would stop it, so store it first, as the daemon would.
	dp := resources.NewIPPool("default-ipv4-ippool")
	dp.Spec.CIDR, dp.Spec.NATOutgoing = defaultPool, true
	if _, err := fx.store.Apply(fx.ctx, dp); err != nil {
		b.Fatal(err)
	}
	if err := fx.fl.Setup(fx.ctx); err != nil { // the mesh is off before the daemon starts
		b.Fatal(err)
	}
	e := newEngine(b)
	fx.d = startDaemon(b, "fleet-bench", testenv.PluginDir, []string{fx.etcd.clientURL()}, "DOCKER_HOST="+e.host)
	fx.bed = newBed(b, e, fx.store)
	fx.bed.run() // warm up: image, plugin activation, first block
	return fx
}

// measureEmpty: RSS, container starts and policy latency with no fleet.
func (fx *fixture) measureEmpty(r *report) {
	fx.d.settle(2 * time.Minute)
	r.add("rss-empty-MiB", fx.d.rss()/(1<<20))
	runs, per := fx.bed.starts(fx.etcd, fx.rounds)
	r.add("run-empty-ms", ms(median(runs)))
	r.perStart("0", per)
	r.add("policy-empty-p50-ms", ms(fx.bed.policyP50(fx.ctx, 20)))
	fx.stored0 = storedBytes(fx.b, fx.store)
}

// measureGrown loads a fifth of the fleet (per-start etcd traffic), then
// all of it (everything again, plus stored bytes and RSS per endpoint).
func (fx *fixture) measureGrown(r *report) {
	r.timed("load-10k-s", func() { mustLoad(fx.b, fx.fl, max(1, fx.hosts/5)) })
	r.add("settle-10k-s", fx.d.settle(5*time.Minute).Seconds())
	_, per10 := fx.bed.starts(fx.etcd, max(3, fx.rounds/3))
	r.perStart("10k", per10)

	r.timed("load-full-s", func() { mustLoad(fx.b, fx.fl, fx.hosts) })
	r.add("settle-full-s", fx.d.settle(10*time.Minute).Seconds())
	r.add("stored-B/host", (storedBytes(fx.b, fx.store)-fx.stored0)/float64(fx.hosts))
	rss := fx.d.rss()
	r.add("rss-fleet-MiB", rss/(1<<20))
	r.add("rss-B/remote-ep", (rss-r.get("rss-empty-MiB")*(1<<20))/float64(fx.fl.Present()))
	runs, per := fx.bed.starts(fx.etcd, fx.rounds)
	r.add("run-fleet-ms", ms(median(runs)))
	r.add("run-fleet/empty", r.get("run-fleet-ms")/r.get("run-empty-ms"))
	r.perStart("full", per)
	r.add("policy-fleet-p50-ms", ms(fx.bed.policyP50(fx.ctx, 20)))
	self, kids := fx.d.cpuShare(func() { time.Sleep(5 * time.Second) })
	r.add("idle-cpu-%", 100*self)
	r.add("idle-cpu-children-%", 100*kids)
}

// measureChurn: the daemon's CPU and this host's share of etcd's
// fan-out while the fleet churns.
func (fx *fixture) measureChurn(r *report) {
	c0 := fx.etcd.counters()
	var st fleetsim.ChurnStats
	self, kids := fx.d.cpuShare(func() {
		var err error
		if st, err = fx.fl.Churn(fx.ctx, fx.churnRate, fx.churnFor, 1); err != nil {
			fx.b.Error(err)
		}
	})
	r.add("churn-cpu-%", 100*self)
	r.add("churn-cpu-children-%", 100*kids)
	dc := fx.etcd.counters().sub(c0)
	secs := st.Duration.Seconds()
	r.add("churn-changes/s", st.Rate())
	r.add("churn-watch-msgs/s", dc.WatchSent/secs)
	r.add("churn-etcd-writes/s", (dc.ByMethod["Txn"]+dc.ByMethod["Put"]+dc.ByMethod["DeleteRange"])/secs)
	r.add("churn-etcd-KB/s-out", dc.BytesOut/1024/secs)
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
