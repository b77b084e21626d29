package policy_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// BenchmarkPolicyApply measures, with rules.ScaleModel's n endpoints
// (veths present, on node "h1") and n policies fed as sync events:
//
//   - start-of-day: Start to everything programmed (routes, sysctls, ARP,
//     chains, IP sets) from a clean namespace;
//   - one-policy-change: OnSyncEvent of one changed policy to the dataplane
//     in sync again (p50/p99 over at least 50 changes);
//   - rule-count: our iptables rules for 100+100 and n+n, to show
//     they grow with policies + endpoints, not their product.
//
// Run it with the default benchtime (each part then runs about once):
//
//	go test -run '^$' -bench BenchmarkPolicyApply ./felix/policy
//
// CALICO_BENCH_SCALE sets n (endpoints and policies; default 1000), and
// CALICO_BENCH_DATAPLANES the backends (comma separated; default both;
// nftables-forward is nftables with the forward-hook layout).
func BenchmarkPolicyApply(b *testing.B) {
	n := felixtest.BenchScale(b)
	for _, dp := range benchDataplanes() { // side by side, each in its own namespace
		b.Run(dp, func(b *testing.B) { benchPolicyApply(b, dp, n) })
	}
}

// benchDataplanes is CALICO_BENCH_DATAPLANES (comma separated; default both).
func benchDataplanes() []string {
	if s := os.Getenv("CALICO_BENCH_DATAPLANES"); s != "" {
		return strings.Split(s, ",")
	}
	return dataplanes
}

func benchPolicyApply(b *testing.B, dataplane string, n int) {
	host := felixtest.NewNS(b, "bench")
	// A host's own address, before the veths: without one the kernel
	// scans every interface for a source address at each route added
	// (inet_select_addr), a cost no real host pays.
	felixtest.AddUplink(b, host)
	veths, err := felix.NewVeths(host.Path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(veths.Close)
	// The containers' ends go to a namespace of their own, as Docker moves
	// them into the containers': the host holds n workload interfaces, not
	// 2n links (the dataplane dumps the host's links at a start of day).
	containers := felixtest.NewNS(b, "benchctr")
	for i := range n {
		mac := net.HardwareAddr{0x02, 0x42, 0x0a, byte(i >> 16), byte(i >> 8), byte(i)}
		peer := fmt.Sprintf("tmp%011d", i)
		if err := veths.CreateVeth(rules.ScaleIface(i), peer, mac, 1500); err != nil {
			b.Fatal(err)
		}
		if err := host.NL.LinkSetNsFd(host.Link(b, peer), int(*containers.NS.Handle())); err != nil {
			b.Fatal(err)
		}
	}
	ups, err := rules.ScaleUpdates(n, n)
	if err != nil {
		b.Fatal(err)
	}
	full := model.SyncEvent{Full: true, Updates: ups}

	b.Run("start-of-day", func(b *testing.B) {
		for range b.N {
			dp, stop := startBench(b, host, dataplane, full)
			b.StopTimer()
			st := dp.Status()
			b.ReportMetric(float64(st.LastRenderDuration.Microseconds())/1000, "render-ms")
			// The apply that brought the policy in force, render included
			// (the rest of the round: the datastore event's calculation).
			b.ReportMetric(float64(st.LastApplyDuration.Microseconds())/1000, "apply-ms")
			clean(b, dp) // back to an empty kernel for the next round
			stop()
			runtime.GC() // a starting daemon's heap is empty: not the last round's garbage
			b.StartTimer()
		}
	})
	// A daemon restarting (an upgrade) finds its ruleset in the kernel:
	// the time from its start to the same policy in force, read back and
	// compared rather than written.
	b.Run("restart", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			_, stop := startBench(b, host, dataplane, full)
			stop()
			runtime.GC()
			b.StartTimer()
			dp, stop := startBench(b, host, dataplane, full)
			b.StopTimer()
			clean(b, dp)
			stop()
			b.StartTimer() // the next round collects before it times
		}
	})
	b.Run("one-policy-change", func(b *testing.B) { benchPolicyChanges(b, host, dataplane, full, n, changedPolicy) })
	// The same with an egress rule: each change gives one policy an egress
	// rule (its endpoint's from-workload chains change, not its
	// to-workload ones: the nftables dataplane's from-workload shards
	// are larger, docs/nftables.md).
	b.Run("one-egress-policy-change", func(b *testing.B) {
		benchPolicyChanges(b, host, dataplane, full, n, changedEgressPolicy)
	})
	// The same on a host with a host endpoint given by its expectedIPs
	// only (the uplink's address): the dataplane then needs the host's
	// addresses (felix/hostinputs.go), which it must not read at every
	// apply on a host of n interfaces.
	b.Run("one-policy-change-hep-by-ip", func(b *testing.B) {
		h := resources.NewHostEndpoint("uplink")
		h.Labels = map[string]string{"role": "host"}
		h.Spec.Node, h.Spec.ExpectedIPs = "h1", []string{felixtest.HostV4.String()}
		withHEP := model.SyncEvent{Full: true, Updates: append(slices.Clip(full.Updates), model.UpdateOf(h))}
		benchPolicyChanges(b, host, dataplane, withHEP, n, changedPolicy)
	})
	// A container starting on a host of n endpoints: its endpoint (its
	// veth already there, as the driver makes it ahead) to its interface,
	// route, ARP entry and chains programmed and its policy's sets
	// updated; then the container stops (its endpoint removed, the veth
	// left, so the dataplane deletes the route), untimed. Reported: start
	// and stop p50/p99, and the dataplane's applies per start and stop.
	b.Run("endpoint-start", func(b *testing.B) {
		b.StopTimer()
		iface := rules.ScaleIface(n)
		mac := net.HardwareAddr{0x02, 0x42, 0x0b, 0, 0, 1}
		if err := veths.CreateVeth(iface, fmt.Sprintf("tmp%011d", n), mac, 1500); err != nil {
			b.Fatal(err)
		}
		dp, stop := startBench(b, host, dataplane, full)
		defer stop()
		w := resources.NewWorkloadEndpoint("wnew")
		w.Spec.Node, w.Spec.InterfaceName = "h1", iface
		w.Spec.IPNetworks = []string{"10.255.0.1/32"}
		w.Spec.Profiles = []string{"net1"}
		w.Labels = map[string]string{"app": "app0"} // selected by p0, a source of p(n-1)
		gone := model.Update{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}
		rounds := max(b.N, 30)
		starts, stops := make([]time.Duration, 0, rounds), make([]time.Duration, 0, rounds)
		applies := dp.Status().Applies
		for range rounds {
			b.StartTimer()
			t0 := time.Now()
			dp.OnSyncEvent(model.SyncEvent{Updates: []model.Update{model.UpdateOf(w)}})
			waitSynced(b, dp)
			starts = append(starts, time.Since(t0))
			b.StopTimer()
			t0 = time.Now()
			dp.OnSyncEvent(model.SyncEvent{Updates: []model.Update{gone}})
			waitSynced(b, dp)
			stops = append(stops, time.Since(t0))
		}
		b.ReportMetric(percentileMs(starts, 0.5), "p50-ms")
		b.ReportMetric(percentileMs(starts, 0.99), "p99-ms")
		b.ReportMetric(percentileMs(stops, 0.5), "stop-p50-ms")
		b.ReportMetric(float64(dp.Status().Applies-applies)/float64(rounds), "applies/start+stop")
	})
	// Routing's routes changing on a host of n endpoints (a route another
	// host exports, on the uplink, its next hop moving each round): from
	// SetRoutes to the dataplane in sync again.
	b.Run("routing-change", func(b *testing.B) {
		b.StopTimer()
		dp, stop := startBench(b, host, dataplane, full)
		defer stop()
		rounds := max(b.N, 30)
		took := make([]time.Duration, 0, rounds)
		for i := range rounds {
			b.StartTimer()
			t0 := time.Now()
			dp.SetRoutes(routes.Desired{Routes: []routes.Route{{Dst: netip.MustParsePrefix("10.250.0.0/26"),
				Gw: netip.AddrFrom4([4]byte{198, 51, 100, byte(10 + i%200)}), Dev: "uplink0", OnLink: true}}})
			waitSynced(b, dp)
			took = append(took, time.Since(t0))
			b.StopTimer()
		}
		if st := dp.RoutesStatus(); !st.InSync || st.Routes != 1 {
			b.Fatalf("routing's route not in place: %+v", st)
		}
		b.ReportMetric(percentileMs(took, 0.5), "p50-ms")
		b.ReportMetric(percentileMs(took, 0.99), "p99-ms")
	})
	b.Run("rule-count", func(b *testing.B) {
		// Timed as programming 100+100 then 1000+1000 (the timer must run, or
		// the benchmark framework would raise b.N without bound).
		for range b.N {
			small, err := rules.ScaleUpdates(100, 100)
			if err != nil {
				b.Fatal(err)
			}
			dp, stop := startBench(b, host, dataplane, model.SyncEvent{Full: true, Updates: small})
			few := ourRuleCount(b, host, dp)
			dp.OnSyncEvent(full)
			waitSynced(b, dp)
			many := ourRuleCount(b, host, dp)
			clean(b, dp)
			stop()
			b.ReportMetric(float64(few), "rules-100+100")
			b.ReportMetric(float64(many), fmt.Sprintf("rules-%d+%d", n, n))
			b.Logf("rules of ours: %d for 100 policies + 100 endpoints, %d for %d + %d (x%.1f; "+
				"policies x endpoints would be x%d)", few, many, n, n, float64(many)/float64(few), n*n/10000)
		}
	})
}

// startBench starts a policy-mode Dataplane for node h1 in host, feeds it
// ev and waits until it is programmed.
func startBench(b *testing.B, host *felixtest.NS, dataplane string, ev model.SyncEvent) (*felix.Dataplane, func()) {
	b.Helper()
	cfg := dataplaneConfig(dataplane)
	dp := felix.New(felix.Config{NetNS: host.Path, NodeName: "h1", Policy: true, Dataplane: cfg.Dataplane, NftablesForwardHook: cfg.NftablesForwardHook,
		ResyncInterval: time.Hour, Logger: quietLogger()})
	ctx, cancel := context.WithCancel(context.Background())
	if err := dp.Start(ctx); err != nil {
		cancel()
		b.Fatal(err)
	}
	dp.OnSyncEvent(ev)
	waitSynced(b, dp)
	return dp, func() { cancel(); <-dp.Done() }
}

func waitSynced(b *testing.B, dp *felix.Dataplane) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := dp.WaitSynced(ctx); err != nil {
		b.Fatalf("not in sync: %v (status %+v)", err, dp.Status())
	}
}

// clean removes everything the dataplane programmed (an empty model).
func clean(b *testing.B, dp *felix.Dataplane) {
	dp.OnSyncEvent(model.SyncEvent{Full: true})
	waitSynced(b, dp)
}

// changedPolicy is policy i%n of rules.ScaleUpdates with another port.
func changedPolicy(i, n int) model.Update {
	j := i % n
	pol := resources.NewGlobalNetworkPolicy(fmt.Sprintf("p%d", j))
	order := float64(j)
	pol.Spec.Order = &order
	pol.Spec.Selector = fmt.Sprintf("app == 'app%d'", j)
	tcp, _ := resources.ParseProtocol("TCP")
	port := uint16(1000 + i)
	pol.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow, Protocol: &tcp,
		Source:      resources.EntityRule{Selector: fmt.Sprintf("app == 'app%d'", (j+1)%n)},
		Destination: resources.EntityRule{Ports: []resources.Port{{Min: port, Max: port}}}}}
	pol.Default()
	return model.Update{Kind: pol.Kind, Name: pol.Name, Object: pol}
}

// benchPolicyChanges times 50 (or b.N) policy changes, change(i, n) each,
// on a dataplane started with full, each until the dataplane is in sync,
// and reports their p50 and p99.
func benchPolicyChanges(b *testing.B, host *felixtest.NS, dataplane string, full model.SyncEvent, n int, change func(i, n int) model.Update) {
	b.StopTimer()
	dp, stop := startBench(b, host, dataplane, full)
	defer stop()
	latencies := make([]time.Duration, 0, max(b.N, 50))
	b.StartTimer()
	for i := range cap(latencies) {
		start := time.Now()
		dp.OnSyncEvent(model.SyncEvent{Updates: []model.Update{change(i, n)}})
		waitSynced(b, dp)
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	pct := func(p float64) float64 { return percentileMs(latencies, p) }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	st := dp.Status()
	b.ReportMetric(float64(st.LastRenderDuration.Microseconds())/1000, "render-ms")
	b.Logf("%d changes: p50 %.1f ms, p99 %.1f ms, max %.1f ms; felix UpdateLatency mean %v max %v",
		len(latencies), pct(0.5), pct(0.99), pct(1), st.UpdateLatency.Total/time.Duration(st.UpdateLatency.Count),
		st.UpdateLatency.Max)
}

// changedEgressPolicy is changedPolicy with an egress rule too: TCP to
// port 2000+i of the next endpoint.
func changedEgressPolicy(i, n int) model.Update {
	u := changedPolicy(i, n)
	pol := u.Object.(*resources.GlobalNetworkPolicy)
	tcp, _ := resources.ParseProtocol("TCP")
	port := uint16(2000 + i)
	pol.Spec.Egress = []resources.Rule{{Action: resources.ActionAllow, Protocol: &tcp,
		Destination: resources.EntityRule{Selector: fmt.Sprintf("app == 'app%d'", (i%n+1)%n),
			Ports: []resources.Port{{Min: port, Max: port}}}}}
	pol.Spec.Types = nil
	pol.Default()
	return u
}

// ourRuleCount counts our rules in host's IPv4 filter table (nftables:
// in our IPv4 table).
func ourRuleCount(b *testing.B, host *felixtest.NS, dp *felix.Dataplane) int {
	if dp.Status().Dataplane == felix.DataplaneNftables {
		return len(nftRules(b, host, 4))
	}
	save := host.Run(b, "iptables-"+string(dp.Status().Backend)+"-save", "-t", "filter")
	return strings.Count(save, "--comment \"cali:") + strings.Count(save, "--comment cali:")
}

// percentileMs is the p-th percentile of ds (sorted in place), in
// milliseconds.
func percentileMs(ds []time.Duration, p float64) float64 {
	slices.Sort(ds)
	return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000
}
