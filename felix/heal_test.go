package felix

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nat"
	"github.com/calico-docker/calico-libnetwork/felix/routes"
)

// healBed is a host namespace with a workload veth and an uplink, and a
// sandbox namespace with two calico-like interfaces, all owned by one
// Dataplane with a short resync.
type healBed struct {
	host, sandbox *felixtest.NS
	sandboxPath   string // a symlink to the sandbox namespace (removable)
	d             *Dataplane
	stop          func()
}

func newHealBed(t *testing.T, peers func(string) []netip.Addr) *healBed {
	t.Helper()
	b := &healBed{host: felixtest.NewNS(t, "host"), sandbox: felixtest.NewNS(t, "sandbox")}
	v := newTestVeths(t, b.host)
	if err := v.CreateVeth("caliheal00001", "tmpheal00001", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	addIface(t, b.host, "uplink0", "10.99.0.1/24")
	b.sandboxPath = filepath.Join(t.TempDir(), "sandbox")
	if err := os.Symlink(b.sandbox.Path, b.sandboxPath); err != nil {
		t.Fatal(err)
	}
	b.d = New(Config{NetNS: b.host.Path, ResyncInterval: 300 * time.Millisecond, Logger: quietLogger(), NetworkPeers: peers})
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.d.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	b.stop = func() { cancel(); <-b.d.Done() }
	t.Cleanup(b.stop)
	return b
}

// addIface adds an interface holding addr, up: one end of a veth pair
// whose other end ("<name>p", also up) stays in the namespace (the kernel
// may lack the dummy driver).
func addIface(t *testing.T, n *felixtest.NS, name, addr string) netlink.Link {
	t.Helper()
	if err := n.NL.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}); err != nil {
		t.Fatal(err)
	}
	if err := n.NL.LinkSetUp(n.Link(t, name+"p")); err != nil {
		t.Fatal(err)
	}
	l := n.Link(t, name)
	a, _ := netlink.ParseAddr(addr)
	if err := n.NL.AddrAdd(l, a); err != nil {
		t.Fatal(err)
	}
	if err := n.NL.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	return l
}

// sandboxIface adds an interface as Docker sets one up from Join's
// answer: its address and an on-link route to its gateway.
func sandboxIface(t *testing.T, n *felixtest.NS, name, addr, gw string) {
	t.Helper()
	l := addIface(t, n, name, addr)
	dst := &net.IPNet{IP: net.ParseIP(gw).To4(), Mask: net.CIDRMask(32, 32)}
	if err := n.NL.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK}); err != nil {
		t.Fatal(err)
	}
}

// sourceRules lists the sandbox's rules in our range as "from X lookup T".
func sourceRules(t *testing.T, n *felixtest.NS) []string {
	t.Helper()
	rules, err := n.NL.RuleList(netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rules {
		if r.Src != nil && r.Table > SourceTableBase && r.Table <= SourceTableBase+255 {
			out = append(out, fmt.Sprintf("from %s lookup %d", r.Src.IP, r.Table))
		}
	}
	slices.Sort(out)
	return out
}

func tableDefault(t *testing.T, n *felixtest.NS, table int) string {
	t.Helper()
	rs, err := n.NL.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil || len(rs) == 0 {
		return ""
	}
	l, err := n.NL.LinkByIndex(rs[0].LinkIndex)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("default via %s dev %s", rs[0].Gw, l.Attrs().Name)
}

func routesOfProtocol(t *testing.T, n *felixtest.NS, proto int) []string {
	t.Helper()
	rs, err := n.NL.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: netlink.RouteProtocol(proto), Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.Dst.String())
	}
	slices.Sort(out)
	return out
}

func wantEqual(t *testing.T, what string, get func() []string, want ...string) {
	t.Helper()
	felixtest.Eventually(t, converge, what, func() error {
		if got := get(); !slices.Equal(got, want) {
			return fmt.Errorf("%q, want %q", got, want)
		}
		return nil
	})
}

// TestEverythingOwnedHeals: every kind of kernel object the loop owns —
// workload route, routing's learned route, natOutgoing rule, sandbox source
// rule and its table's route — deleted by hand comes back by the next
// resync; a withdrawn source route goes; a sandbox whose namespace is gone
// is forgotten; routing's routes go when the loop stops.
func TestEverythingOwnedHeals(t *testing.T) {
	b := newHealBed(t, nil)
	d, host, sb := b.d, b.host, b.sandbox
	d.OnEndpointUpdate(Endpoint{ID: "ep0", IfaceName: "caliheal00001", MAC: testMAC,
		IPv4Nets: []netip.Prefix{netip.MustParsePrefix("10.65.0.1/32")}})
	d.SetRoutes(routes.Desired{Routes: []routes.Route{{Dst: netip.MustParsePrefix("10.40.0.0/26"), Gw: netip.MustParseAddr("10.99.0.2")}}})
	if err := d.SetNATPools([]nat.Pool{{CIDR: netip.MustParsePrefix("10.65.0.0/16"), NATOutgoing: true}}); err != nil {
		t.Fatal(err)
	}
	// Recorded before Docker has moved the interfaces in: retried until then.
	for id, r := range map[string]SourceRoute{
		"ep1": {Sandbox: b.sandboxPath, Addr: netip.MustParseAddr("10.66.0.1"), Gateway: netip.MustParseAddr("169.254.1.1")},
		"ep2": {Sandbox: b.sandboxPath, Addr: netip.MustParseAddr("10.67.0.1"), Gateway: netip.MustParseAddr("169.254.1.2")},
	} {
		if err := d.SetSourceRoute(id, r); err != nil {
			t.Fatal(err)
		}
	}
	sandboxIface(t, sb, "eth0", "10.66.0.1/32", "169.254.1.1")
	sandboxIface(t, sb, "eth1", "10.67.0.1/32", "169.254.1.2")

	workload := func() []string { return routesOfProtocol(t, host, DefaultRouteProtocol) }
	learned := func() []string { return routesOfProtocol(t, host, routes.DefaultRouteProtocol) }
	rules := func() []string { return sourceRules(t, sb) }
	table := func() []string { return []string{tableDefault(t, sb, 1002)} }
	natRule := func() []string {
		save := host.Run(t, "iptables-"+string(d.Status().Backend)+"-save", "-t", "nat")
		return []string{fmt.Sprint(strings.Contains(save, "cali40masq-ipam-pools src"))}
	}
	check := func(stage string) {
		t.Helper()
		wantEqual(t, stage+": workload route", workload, "10.65.0.1/32")
		wantEqual(t, stage+": learned route", learned, "10.40.0.0/26")
		wantEqual(t, stage+": source rules", rules, "from 10.66.0.1 lookup 1001", "from 10.67.0.1 lookup 1002")
		wantEqual(t, stage+": source table", table, "default via 169.254.1.2 dev eth1")
		wantEqual(t, stage+": natOutgoing rule", natRule, "true")
	}
	check("programmed")

	routeDel(t, host, "10.65.0.1/32", DefaultRouteProtocol)
	routeDel(t, host, "10.40.0.0/26", routes.DefaultRouteProtocol)
	host.Run(t, "iptables-"+string(d.Status().Backend), "-t", "nat", "-F", nat.ChainNATOutgoing)
	sb.Run(t, "ip", "rule", "del", "from", "10.66.0.1", "lookup", "1001")
	sb.Run(t, "ip", "route", "flush", "table", "1002")
	check("healed")

	d.RemoveSourceRoute("ep2")
	wantEqual(t, "withdrawn rule", rules, "from 10.66.0.1 lookup 1001")

	if err := os.Remove(b.sandboxPath); err != nil { // the container is gone
		t.Fatal(err)
	}
	felixtest.Eventually(t, converge, "sandbox forgotten", func() error {
		if got := d.SourceRoutes(); len(got) != 0 {
			return fmt.Errorf("still recorded: %v", got)
		}
		return nil
	})

	b.stop()
	if got := learned(); len(got) != 0 {
		t.Errorf("routing's routes left after stop: %v", got)
	}
	if got := workload(); len(got) != 1 {
		t.Errorf("workload routes after stop = %v, want them kept", got)
	}
}

func routeDel(t *testing.T, n *felixtest.NS, dst string, proto int) {
	t.Helper()
	n.Run(t, "ip", "route", "del", dst, "proto", fmt.Sprint(proto))
}

// TestSetSourceRouteRefusesBadInput: each bad field is named and nothing
// is recorded.
func TestSetSourceRouteRefusesBadInput(t *testing.T) {
	d := New(Config{Logger: quietLogger()})
	good := SourceRoute{Sandbox: "/run/docker/netns/abc", Addr: netip.MustParseAddr("10.0.0.1"), Gateway: netip.MustParseAddr("169.254.1.2")}
	for _, tc := range []struct {
		field string
		edit  func(*SourceRoute)
	}{
		{"Sandbox", func(r *SourceRoute) { r.Sandbox = "netns/abc" }},
		{"Addr", func(r *SourceRoute) { r.Addr = netip.MustParseAddr("fd00::1") }},
		{"Gateway", func(r *SourceRoute) { r.Gateway = netip.MustParseAddr("10.0.0.254") }},
		{"Gateway", func(r *SourceRoute) { r.Gateway = netip.MustParseAddr("169.254.1.0") }},
		{"Addr6", func(r *SourceRoute) { r.Addr6 = netip.MustParseAddr("10.0.0.2") }},
		{"Subnets6[0]", func(r *SourceRoute) { r.Subnets6 = []netip.Prefix{netip.MustParsePrefix("fd00::/64")} }},
	} {
		r := good
		tc.edit(&r)
		err := d.SetSourceRoute("ep1", r)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err %v, want one naming the field", tc.field, err)
		}
	}
	if err := d.SetSourceRoute("", good); err == nil {
		t.Error("empty endpoint ID accepted")
	}
	if got := d.SourceRoutes(); len(got) != 0 {
		t.Errorf("bad input recorded: %v", got)
	}
	if err := d.SetSourceRoute("ep1", good); err != nil || len(d.SourceRoutes()) != 1 {
		t.Errorf("good input: err %v, recorded %v", err, d.SourceRoutes())
	}
}
