package felix

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/routes"
)

const converge = 15 * time.Second

// startDataplane runs a Dataplane in n until the test ends.
func startDataplane(t testing.TB, n *testNS, cfg Config) *Dataplane {
	t.Helper()
	cfg.NetNS = n.Path
	if cfg.ResyncInterval == 0 {
		cfg.ResyncInterval = 300 * time.Millisecond
	}
	cfg.Logger = quietLogger()
	d := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-d.Done()
	})
	return d
}

// quietLogger logs warnings and errors only.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func waitSynced(t testing.TB, d *Dataplane) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), converge)
	defer cancel()
	if err := d.WaitSynced(ctx); err != nil {
		t.Fatalf("dataplane not in sync: %v (status %+v)", err, d.Status())
	}
}

// ourRoutes lists n's routes with our protocol as "dst dev" / "blackhole dst".
func ourRoutes(t testing.TB, n *testNS) []string {
	t.Helper()
	filter := &netlink.Route{Protocol: DefaultRouteProtocol, Table: unix.RT_TABLE_MAIN}
	routes, err := n.NL.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range routes {
		if r.Type == unix.RTN_BLACKHOLE {
			out = append(out, "blackhole "+r.Dst.String())
			continue
		}
		l, err := n.NL.LinkByIndex(r.LinkIndex)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s dev %s scope %s", r.Dst, l.Attrs().Name, r.Scope))
	}
	slices.Sort(out)
	return out
}

// deleteOnlyRoute deletes by hand n's one IPv4 route of protocol proto.
func deleteOnlyRoute(t testing.TB, n *testNS, proto int) {
	t.Helper()
	r, err := n.NL.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: netlink.RouteProtocol(proto)},
		netlink.RT_FILTER_PROTOCOL)
	if err != nil || len(r) != 1 {
		t.Fatalf("routes %v, %v", r, err)
	}
	if err := n.NL.RouteDel(&r[0]); err != nil {
		t.Fatal(err)
	}
}

func wantRoutes(t testing.TB, n *testNS, want ...string) {
	t.Helper()
	slices.Sort(want)
	felixtest.Eventually(t, converge, "routes", func() error {
		if got := ourRoutes(t, n); !slices.Equal(got, want) {
			return fmt.Errorf("routes %q, want %q", got, want)
		}
		return nil
	})
}

func TestDataplaneEndpointRoutesAndSysctls(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	v := newTestVeths(t, host)
	if err := v.CreateVeth("calidp0000001", "tmpdp0000001", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	d := startDataplane(t, host, Config{})
	d.OnEndpointUpdate(Endpoint{ID: "ep1", IfaceName: "calidp0000001", MAC: testMAC,
		IPv4Nets: []netip.Prefix{netip.MustParsePrefix("10.65.0.1/32")}})
	d.SetLocalBlocks([]netip.Prefix{netip.MustParsePrefix("10.65.0.0/26")})
	waitSynced(t, d)
	wantRoutes(t, host, "10.65.0.1/32 dev calidp0000001 scope link", "blackhole 10.65.0.0/26")

	for path, want := range map[string]string{
		"net/ipv4/ip_forward":                      "1",
		"net/ipv4/conf/calidp0000001/proxy_arp":    "1",
		"net/ipv4/conf/calidp0000001/rp_filter":    "1",
		"net/ipv4/conf/calidp0000001/forwarding":   "1",
		"net/ipv4/neigh/calidp0000001/proxy_delay": "0",
		"net/ipv6/conf/calidp0000001/accept_ra":    "0",
	} {
		if got := host.Sysctl(t, path); got != want {
			t.Errorf("%s = %s, want %s", path, got, want)
		}
	}
	neighs, err := host.NL.NeighList(host.Link(t, "calidp0000001").Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	if len(neighs) != 1 || !neighs[0].IP.Equal(net.ParseIP("10.65.0.1")) ||
		neighs[0].HardwareAddr.String() != testMAC.String() || neighs[0].State != netlink.NUD_PERMANENT {
		t.Errorf("ARP entries %v, want one permanent 10.65.0.1 -> %s", neighs, testMAC)
	}
	if st := d.Status(); !st.InSync || st.RoutesProgrammed != 2 || st.LastError != nil || st.Endpoints != 1 {
		t.Errorf("status %+v", st)
	}

	// Removing the endpoint removes its route; the block stays blackholed.
	d.OnEndpointRemove("ep1")
	waitSynced(t, d)
	wantRoutes(t, host, "blackhole 10.65.0.0/26")
	d.SetLocalBlocks(nil)
	wantRoutes(t, host)
}

func TestDataplaneHealsRoutes(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	v := newTestVeths(t, host)
	if err := v.CreateVeth("calidp0000002", "tmpdp0000002", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	d := startDataplane(t, host, Config{})
	d.OnEndpointUpdate(Endpoint{ID: "ep2", IfaceName: "calidp0000002",
		IPv4Nets: []netip.Prefix{netip.MustParsePrefix("10.65.0.2/32")}})
	waitSynced(t, d)
	wantRoutes(t, host, "10.65.0.2/32 dev calidp0000002 scope link")

	// A stale route with our protocol is removed by the resync.
	stale := &netlink.Route{Dst: prefixToIPNet(netip.MustParsePrefix("10.99.0.0/24")), Type: unix.RTN_BLACKHOLE,
		Protocol: DefaultRouteProtocol}
	if err := host.NL.RouteAdd(stale); err != nil {
		t.Fatal(err)
	}
	// A route of someone else's is left alone.
	foreign := &netlink.Route{Dst: prefixToIPNet(netip.MustParsePrefix("10.98.0.0/24")), Type: unix.RTN_BLACKHOLE,
		Protocol: unix.RTPROT_STATIC}
	if err := host.NL.RouteAdd(foreign); err != nil {
		t.Fatal(err)
	}
	wantRoutes(t, host, "10.65.0.2/32 dev calidp0000002 scope link")
	routes, _ := host.NL.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: unix.RTPROT_STATIC},
		netlink.RT_FILTER_PROTOCOL)
	if len(routes) != 1 {
		t.Errorf("foreign static routes %v, want the one we added", routes)
	}

	// A desired route deleted by hand comes back.
	deleteOnlyRoute(t, host, DefaultRouteProtocol)
	wantRoutes(t, host, "10.65.0.2/32 dev calidp0000002 scope link")

	// An interface set down by hand is brought up again.
	if err := host.NL.LinkSetDown(host.Link(t, "calidp0000002")); err != nil {
		t.Fatal(err)
	}
	felixtest.Eventually(t, converge, "interface up", func() error {
		if host.Link(t, "calidp0000002").Attrs().Flags&net.FlagUp == 0 {
			return fmt.Errorf("still down")
		}
		return nil
	})
	wantRoutes(t, host, "10.65.0.2/32 dev calidp0000002 scope link")
}

func TestDataplaneEndpointBeforeInterface(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	d := startDataplane(t, host, Config{ResyncInterval: time.Hour}) // only the link event can help
	d.OnEndpointUpdate(Endpoint{ID: "ep3", IfaceName: "calidp0000003",
		IPv4Nets: []netip.Prefix{netip.MustParsePrefix("10.65.0.3/32")}})
	waitSynced(t, d) // a missing interface is not a failure
	v := newTestVeths(t, host)
	if err := v.CreateVeth("calidp0000003", "tmpdp0000003", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	wantRoutes(t, host, "10.65.0.3/32 dev calidp0000003 scope link")
}

func TestDataplaneIPv6(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	v := newTestVeths(t, host)
	if err := v.CreateVeth("calidp0000004", "tmpdp0000004", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	d := startDataplane(t, host, Config{EnableIPv6: true})
	d.OnEndpointUpdate(Endpoint{ID: "ep4", IfaceName: "calidp0000004",
		IPv4Nets: []netip.Prefix{netip.MustParsePrefix("10.65.0.4/32")},
		IPv6Nets: []netip.Prefix{netip.MustParsePrefix("fd00:65::4/128")}})
	d.SetLocalBlocks([]netip.Prefix{netip.MustParsePrefix("fd00:65::/122")})
	waitSynced(t, d)
	wantRoutes(t, host, "10.65.0.4/32 dev calidp0000004 scope link",
		"fd00:65::4/128 dev calidp0000004 scope universe", "blackhole fd00:65::/122")
	for path, want := range map[string]string{
		"net/ipv6/conf/all/forwarding":           "1",
		"net/ipv6/conf/calidp0000004/proxy_ndp":  "1",
		"net/ipv6/conf/calidp0000004/forwarding": "1",
		"net/ipv6/conf/calidp0000004/accept_ra":  "0",
	} {
		if got := host.Sysctl(t, path); got != want {
			t.Errorf("%s = %s, want %s", path, got, want)
		}
	}
	addrs, err := host.NL.AddrList(host.Link(t, "calidp0000004"), netlink.FAMILY_V6)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return a.IP.Equal(IPv6Gateway.AsSlice()) }) {
		t.Errorf("addresses %v lack the gateway %s", addrs, IPv6Gateway)
	}
	save := host.Run(t, iptablesBinary(d, 6, "save"), "-t", "filter")
	if !strings.Contains(save, "-A FORWARD -m comment") || !strings.Contains(save, "-A cali-FORWARD -i cali+") {
		t.Errorf("ip6tables lacks our chains:\n%s", save)
	}
}

// iptablesBinary names the tool of the dataplane's backend, e.g. iptables-nft-save.
func iptablesBinary(d *Dataplane, version int, tool string) string {
	base := "iptables"
	if version == 6 {
		base = "ip6tables"
	}
	name := base + "-" + string(d.Status().Backend)
	if tool != "" {
		name += "-" + tool
	}
	return name
}

// forwardState returns FORWARD's rules and cali-FORWARD's rules.
func forwardState(t testing.TB, n *testNS, d *Dataplane) (fwd, cali []string) {
	save := n.Run(t, iptablesBinary(d, 4, "save"), "-t", "filter")
	for _, l := range strings.Split(save, "\n") {
		switch {
		case strings.HasPrefix(l, "-A FORWARD "):
			fwd = append(fwd, l)
		case strings.HasPrefix(l, "-A "+ChainForward+" "):
			cali = append(cali, l)
		}
	}
	return fwd, cali
}

func TestDataplaneIptablesHeal(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	for _, b := range []iptables.Backend{iptables.BackendLegacy, iptables.BackendNFT} {
		t.Run(string(b), func(t *testing.T) {
			d := startDataplane(t, host, Config{IptablesBackend: b})
			waitSynced(t, d)
			cli := iptablesBinary(d, 4, "")
			check := func(wantForeign int) {
				t.Helper()
				felixtest.Eventually(t, converge, "iptables", func() error {
					fwd, cali := forwardState(t, host, d)
					if len(fwd) != 1+wantForeign || !strings.Contains(fwd[0], "-j "+ChainForward) || len(cali) != 2 {
						return fmt.Errorf("FORWARD %q, %s %q", fwd, ChainForward, cali)
					}
					return nil
				})
			}
			check(0)
			host.Run(t, cli, "-D", "FORWARD", "1")
			host.Run(t, cli, "-F", ChainForward)
			check(0)
			// Docker inserting its own rule at the top: ours goes back on top, Docker's stays.
			host.Run(t, cli, "-I", "FORWARD", "1", "-j", "DROP")
			check(1)
		})
	}
}

// flakyRunner fails every iptables-restore while failing is set.
type flakyRunner struct {
	iptables.Runner
	failing atomic.Bool
}

func (f *flakyRunner) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	if f.failing.Load() && strings.HasSuffix(name, "-restore") {
		return nil, errors.New("injected restore failure")
	}
	return f.Runner.Run(ctx, stdin, name, args...)
}

func TestDataplaneRetriesFailures(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	v := newTestVeths(t, host)
	if err := v.CreateVeth("calidp0000005", "tmpdp0000005", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	flaky := &flakyRunner{}
	flaky.failing.Store(true)
	cfg := Config{NetNS: host.Path, ResyncInterval: time.Hour, Logger: quietLogger()} // only retries heal
	d := New(cfg)
	d.wrapRunner = func(r iptables.Runner) iptables.Runner { flaky.Runner = r; return flaky }
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); <-d.Done() }()
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	d.OnEndpointUpdate(Endpoint{ID: "ep5", IfaceName: "calidp0000005",
		IPv4Nets: []netip.Prefix{netip.MustParsePrefix("10.65.0.5/32")}})

	// Other steps still run while iptables fails; the failure is reported.
	wantRoutes(t, host, "10.65.0.5/32 dev calidp0000005 scope link")
	felixtest.Eventually(t, converge, "failures retried", func() error {
		if st := d.Status(); st.InSync || st.LastError == nil || st.Failures < 2 {
			return fmt.Errorf("status %+v, want out of sync after 2+ failures", st)
		}
		return nil
	})
	flaky.failing.Store(false)
	waitSynced(t, d)
	if fwd, cali := forwardState(t, host, d); len(fwd) != 1 || len(cali) != 2 {
		t.Errorf("after recovery FORWARD %q, cali-FORWARD %q", fwd, cali)
	}
}

func TestDataplaneRejectsUnknownBackend(t *testing.T) {
	d := New(Config{IptablesBackend: "bogus"})
	if err := d.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("Start with a bogus backend: %v", err)
	}
}

func TestDataplaneSetFilterState(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	d := startDataplane(t, host, Config{})
	waitSynced(t, d)
	custom := FilterState{
		Chains: []iptables.Chain{
			{Name: ChainForward, Rules: []iptables.Rule{{Match: "-i cali+", Action: "cali-test"}}},
			{Name: "cali-test", Rules: []iptables.Rule{{Action: "ACCEPT"}}},
		},
		Inserts: map[string][]iptables.Rule{"FORWARD": {{Action: ChainForward}}},
	}
	d.SetFilterState(4, custom)
	custom.Chains[1].Rules[0].Action = "DROP" // the dataplane holds its own copy
	waitSynced(t, d)
	save := host.Run(t, iptablesBinary(d, 4, "save"), "-t", "filter")
	if !strings.Contains(save, "-A cali-test -m comment") || !strings.Contains(save, "-j ACCEPT") ||
		strings.Contains(save, "-o cali+") {
		t.Fatalf("custom state not programmed:\n%s", save)
	}
	d.SetFilterState(4, BaseFilterState(DefaultInterfacePrefix))
	waitSynced(t, d)
	if _, cali := forwardState(t, host, d); len(cali) != 2 {
		t.Errorf("base state not restored: %q", cali)
	}
	if save := host.Run(t, iptablesBinary(d, 4, "save"), "-t", "filter"); strings.Contains(save, "cali-test") {
		t.Errorf("stale chain left:\n%s", save)
	}
}

// Deleting the route of an endpoint that went is the dataplane's own doing:
// the watcher ignores that deletion (it used to cost another apply, and the
// batching holdoff for the next change). A route deleted behind its back
// wakes it, and is repaired without waiting for the resync.
func TestDataplaneIgnoresItsOwnRouteDeletions(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	v := newTestVeths(t, host)
	for _, name := range []string{"calidp0000003", "calidp0000004"} {
		if err := v.CreateVeth(name, "tmp"+strings.TrimPrefix(name, "cali"), testMAC, 1500); err != nil {
			t.Fatal(err)
		}
	}
	d := startDataplane(t, host, Config{ResyncInterval: time.Hour})
	d.OnEndpointUpdate(Endpoint{ID: "ep3", IfaceName: "calidp0000003",
		IPv4Nets: []netip.Prefix{netip.MustParsePrefix("10.65.0.3/32")}})
	d.OnEndpointUpdate(Endpoint{ID: "ep4", IfaceName: "calidp0000004",
		IPv4Nets: []netip.Prefix{netip.MustParsePrefix("10.65.0.4/32")}})
	waitSynced(t, d)
	wantRoutes(t, host, "10.65.0.3/32 dev calidp0000003 scope link", "10.65.0.4/32 dev calidp0000004 scope link")

	d.OnEndpointRemove("ep3") // its veth stays: the dataplane deletes the route
	waitSynced(t, d)
	wantRoutes(t, host, "10.65.0.4/32 dev calidp0000004 scope link")

	deleteOnlyRoute(t, host, DefaultRouteProtocol)
	wantRoutes(t, host, "10.65.0.4/32 dev calidp0000004 scope link") // no resync within the hour
	// The watcher reads one socket in order: ep3's deletion was judged
	// before the one that woke the loop.
	if n := d.routeWakes.Load(); n != 1 {
		t.Errorf("%d route deletions woke the dataplane, want 1 (the one made behind its back)", n)
	}
}

// The same for routing's routes: the loop deletes the routes routing
// withdrew without waking itself again; one deleted by hand wakes it.
func TestDataplaneIgnoresItsOwnRemoteRouteDeletions(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	addIface(t, host, "uplink0", "10.99.0.1/24")
	d := startDataplane(t, host, Config{ResyncInterval: time.Hour})
	via := netip.MustParseAddr("10.99.0.2")
	r1 := routes.Route{Dst: netip.MustParsePrefix("10.40.0.0/26"), Gw: via}
	r2 := routes.Route{Dst: netip.MustParsePrefix("10.40.0.64/26"), Gw: via}
	theirs := func() []string { return routesOfProtocol(t, host, routes.DefaultRouteProtocol) }
	d.SetRoutes(routes.Desired{Routes: []routes.Route{r1, r2}})
	wantEqual(t, "routing's routes", theirs, "10.40.0.0/26", "10.40.0.64/26")
	d.SetRoutes(routes.Desired{Routes: []routes.Route{r2}}) // withdrawn: the loop deletes r1
	waitSynced(t, d)
	wantEqual(t, "routing's routes", theirs, "10.40.0.64/26")

	deleteOnlyRoute(t, host, routes.DefaultRouteProtocol)
	wantEqual(t, "routing's routes", theirs, "10.40.0.64/26") // no resync within the hour
	if n := d.remoteWakes.Load(); n != 1 {
		t.Errorf("%d deletions of routing's routes woke the dataplane, want 1 (the one made behind its back)", n)
	}
}

// Between full resyncs the endpoint side binds endpoints to interfaces from
// the last link dump, kept up to date by the watcher's link events
// (linkcache.go), and knows its routes from the last sync (routes.go):
// endpoints come, an interface is recreated under the same name (a new
// ifindex), another comes after its endpoint, one is set down by hand
// (IPv4 drops its routes without a word, and its ARP entries), and no
// apply dumps the links, the routes or the ARP entries, yet every route
// and ARP entry follows; an endpoint removed takes its ARP entry along.
func TestDataplaneEndpointLinksFromCache(t *testing.T) {
	host := felixtest.NewNS(t, "dp")
	v := newTestVeths(t, host)
	for _, name := range []string{"calidp0000005", "calidp0000006"} {
		if err := v.CreateVeth(name, "tmp"+strings.TrimPrefix(name, "cali"), testMAC, 1500); err != nil {
			t.Fatal(err)
		}
	}
	d := startDataplane(t, host, Config{ResyncInterval: time.Hour})
	ep := func(n int) Endpoint {
		return Endpoint{ID: fmt.Sprintf("ep%d", n), IfaceName: fmt.Sprintf("calidp%07d", n), MAC: testMAC,
			IPv4Nets: []netip.Prefix{netip.MustParsePrefix(fmt.Sprintf("10.65.0.%d/32", n))}}
	}
	arp := func(ns ...int) func() error { // exactly these endpoints' entries
		return func() error {
			var got, want []string
			for _, n := range ns {
				want = append(want, fmt.Sprintf("10.65.0.%d dev calidp%07d", n, n))
			}
			all, err := host.NL.NeighList(0, netlink.FAMILY_V4)
			if err != nil {
				return err
			}
			for _, nb := range all {
				l, err := host.NL.LinkByIndex(nb.LinkIndex)
				if err == nil && nb.State == netlink.NUD_PERMANENT && strings.HasPrefix(l.Attrs().Name, "calidp") {
					got = append(got, fmt.Sprintf("%s dev %s", nb.IP, l.Attrs().Name))
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				return fmt.Errorf("ARP entries %v, want %v", got, want)
			}
			return nil
		}
	}
	route := func(n int) string { return fmt.Sprintf("10.65.0.%d/32 dev calidp%07d scope link", n, n) }
	d.OnEndpointUpdate(ep(5))
	waitSynced(t, d)
	wantRoutes(t, host, route(5))
	// The watcher's subscription marks the links stale once; another
	// endpoint sync takes that dump before counting.
	d.OnEndpointUpdate(Endpoint{ID: "absent", IfaceName: "calidp0000009"})
	waitSynced(t, d)
	dumps, routeDumps, neighDumps := d.kernel.linkDumps.Load(), d.kernel.routeDumps.Load(), d.kernel.neighDumps.Load()

	d.OnEndpointUpdate(ep(6))
	waitSynced(t, d)
	wantRoutes(t, host, route(5), route(6))

	old := host.Link(t, "calidp0000006").Attrs().Index
	if err := host.NL.LinkDel(host.Link(t, "calidp0000006")); err != nil {
		t.Fatal(err)
	}
	if err := v.CreateVeth("calidp0000006", "tmpdp0000006", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	if host.Link(t, "calidp0000006").Attrs().Index == old {
		t.Fatal("the recreated interface kept its ifindex")
	}
	wantRoutes(t, host, route(5), route(6)) // on the new ifindex: the old one's went with it
	if got := host.Sysctl(t, "net/ipv4/conf/calidp0000006/proxy_arp"); got != "1" {
		t.Errorf("the recreated interface's proxy_arp = %s, want 1", got)
	}

	d.OnEndpointUpdate(ep(7)) // its interface comes after it
	waitSynced(t, d)
	if err := v.CreateVeth("calidp0000007", "tmpdp0000007", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	wantRoutes(t, host, route(5), route(6), route(7))

	if err := host.NL.LinkSetDown(host.Link(t, "calidp0000005")); err != nil {
		t.Fatal(err)
	}
	felixtest.Eventually(t, converge, "calidp0000005 up again", func() error {
		if host.Link(t, "calidp0000005").Attrs().Flags&net.FlagUp == 0 {
			return errors.New("still down")
		}
		return nil
	})
	wantRoutes(t, host, route(5), route(6), route(7))
	felixtest.Eventually(t, converge, "ARP entries of 5, 6 and 7", arp(5, 6, 7))

	d.OnEndpointRemove("ep6")
	waitSynced(t, d)
	felixtest.Eventually(t, converge, "ep6's ARP entry gone", arp(5, 7))
	if n := d.kernel.linkDumps.Load() - dumps; n != 0 {
		t.Errorf("%d link dumps between full resyncs, want none", n)
	}
	if n := d.kernel.routeDumps.Load() - routeDumps; n != 0 {
		t.Errorf("%d route dumps between full resyncs, want none", n)
	}
	if n := d.kernel.neighDumps.Load() - neighDumps; n != 0 {
		t.Errorf("%d ARP entry dumps between full resyncs, want none", n)
	}
}
