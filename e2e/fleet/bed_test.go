package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/internal/fleetsim"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// engine runs docker commands against the test engine.
type engine struct {
	t    testing.TB
	host string
	sfx  string
}

func newEngine(t testing.TB) *engine {
	t.Helper()
	host := testenv.Docker(t)
	b := make([]byte, 3)
	rand.Read(b)
	return &engine{t: t, host: host, sfx: hex.EncodeToString(b)}
}

func (e *engine) name(base string) string { return fmt.Sprintf("cal-fleet-%s-%s", e.sfx, base) }

func (e *engine) must(args ...string) string {
	e.t.Helper()
	out, err := testenv.DockerCmd(e.t, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// bed is the local side of the fleet benchmark: a calico network, two
// long-running containers labelled fleet-tier=tier-0 (so the fleet's
// policies for tier-0, and the probe policy, apply on this host), and the
// probe policy whose port the policy benchmark changes.
type bed struct {
	e       *engine
	store   *datastore.Store
	network string
	probe   int
}

const probePolicy = "fleetsim-probe"

func newBed(t testing.TB, e *engine, store *datastore.Store) *bed {
	t.Helper()
	n := e.name("net")
	e.must("network", "create", "--driver", "calico", "--ipam-driver", "calico-ipam", n)
	t.Cleanup(func() { _, _ = testenv.DockerCmd(t, "network", "rm", n) })
	for i := range 2 {
		c := e.name(fmt.Sprintf("sleeper%d", i))
		t.Cleanup(func() { _, _ = testenv.DockerCmd(t, "rm", "-f", c) })
		e.must("run", "-d", "--name", c, "--net", n, "--label", driver.LabelPrefix+fleetsim.LabelTier+"=tier-0",
			testenv.TestImage(), "sleep", "3600")
	}
	return &bed{e: e, store: store, network: n}
}

// run times one `docker run --rm IMAGE true` on the calico network.
func (bd *bed) run() time.Duration {
	start := time.Now()
	bd.e.must("run", "--rm", "--net", bd.network, testenv.TestImage(), "true")
	return time.Since(start)
}

// starts runs n containers one after another and returns their times and
// the etcd traffic per start, the daemon's idle traffic (measured for 3s
// just before) subtracted.
func (bd *bed) starts(etcd *etcdMember, n int) ([]time.Duration, etcdCounters) {
	i0, it := etcd.counters(), time.Now()
	time.Sleep(3 * time.Second)
	idle := etcd.counters().sub(i0)
	idleFor := time.Since(it)
	c0, t0 := etcd.counters(), time.Now()
	times := make([]time.Duration, n)
	for i := range times {
		times[i] = bd.run()
	}
	d := etcd.counters().sub(c0)
	k := time.Since(t0).Seconds() / idleFor.Seconds()
	per := etcdCounters{ByMethod: map[string]float64{}}
	per.Unary = (d.Unary - k*idle.Unary) / float64(n)
	per.WatchSent = (d.WatchSent - k*idle.WatchSent) / float64(n)
	per.BytesIn = (d.BytesIn - k*idle.BytesIn) / float64(n)
	per.BytesOut = (d.BytesOut - k*idle.BytesOut) / float64(n)
	for m, v := range d.ByMethod {
		per.ByMethod[m] = (v - k*idle.ByMethod[m]) / float64(n)
	}
	return times, per
}

// policyP50 changes the probe policy's port n times and returns the
// median time from the store's write to iptables holding the new port.
func (bd *bed) policyP50(ctx context.Context, n int) time.Duration {
	t := bd.e.t
	lat := make([]time.Duration, 0, n)
	for i := 0; i <= n; i++ { // the first change (creation, probably cold) is not counted
		bd.probe++
		port := 41000 + bd.probe
		p := resources.NewNetworkPolicy(probePolicy)
		p.Spec.Selector = fleetsim.LabelTier + " == 'tier-0'"
		tcp, _ := resources.ParseProtocol("TCP")
		pp, _ := resources.ParsePort(fmt.Sprint(port))
		p.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow, Protocol: &tcp,
			Source:      resources.EntityRule{Selector: fleetsim.LabelApp + " == 'app-0'"},
			Destination: resources.EntityRule{Ports: []resources.Port{pp}}}}
		start := time.Now()
		if _, err := bd.store.Apply(ctx, p); err != nil {
			t.Fatal(err)
		}
		waitIptables(t, port, 60*time.Second)
		if i > 0 {
			lat = append(lat, time.Since(start))
		}
	}
	return median(lat)
}

// waitIptables polls the filter table until a rule names port.
func waitIptables(t testing.TB, port int, limit time.Duration) {
	t.Helper()
	bin := "iptables-save"
	if b := os.Getenv("CALICO_TEST_IPTABLES_BACKEND"); b == "legacy" || b == "nft" {
		bin = "iptables-" + b + "-save"
	}
	re := regexp.MustCompile(fmt.Sprintf(`\b%d\b`, port))
	deadline := time.Now().Add(limit)
	for {
		out, err := hostCmd(t, bin, "-t", "filter")
		if err != nil {
			t.Fatalf("%s: %v: %.200s", bin, err, out)
		}
		if re.MatchString(out) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the probe policy's port %d did not reach iptables within %v (are the labelled containers' labels stored?)", port, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
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

// hostRoutes lists the destinations of the host's IPv4 routes, every table.
func hostRoutes(t testing.TB) []string {
	out, err := hostCmd(t, "ip", "-4", "-o", "route", "show", "table", "all")
	if err != nil {
		t.Fatalf("ip route: %v: %s", err, out)
	}
	return strings.Split(strings.TrimSpace(out), "\n")
}

func overlapping(line string, pool netip.Prefix) bool {
	m := testenv.RouteDst.FindStringSubmatch(line)
	if m == nil || m[1] == "default" {
		return false
	}
	dst, err := netip.ParsePrefix(m[1])
	if err != nil {
		a, err2 := netip.ParseAddr(m[1])
		if err2 != nil {
			return false
		}
		dst = netip.PrefixFrom(a, 32)
	}
	return pool.Overlaps(dst)
}

// requireFreeRanges refuses to run when a host route (other than the
// daemon's own, proto 80) overlaps a pool: traffic must stay on this host.
func requireFreeRanges(t testing.TB, pools ...string) {
	t.Helper()
	for _, line := range hostRoutes(t) {
		for _, p := range pools {
			if !strings.Contains(line, "proto 80") && overlapping(line, netip.MustParsePrefix(p)) {
				t.Fatalf("host route %q overlaps the test pool %s: refusing to run", line, p)
			}
		}
	}
}

// requireNoRouteInto fails if any route leads into the fleet's pool: the
// daemon must have learned nothing about the simulated hosts.
func requireNoRouteInto(t testing.TB, pool string) {
	t.Helper()
	for _, line := range hostRoutes(t) {
		if overlapping(line, netip.MustParsePrefix(pool)) {
			t.Errorf("route %q leads into the simulated fleet's pool %s: simulated hosts must never be reachable", line, pool)
		}
	}
}

// hostCmd runs a host command and returns its combined output, trimmed.
func hostCmd(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
