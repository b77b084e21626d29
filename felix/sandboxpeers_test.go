package felix

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestSandboxPeerRoutes: a sandbox whose two interfaces share a pool
// (two networks without --subnet) gets a host route to each peer of each
// network via that network's interface, with its address as source: /32s
// via its gateway and, when the interface has an IPv6 address
// (dual-stack), /128s via IPv6Gateway; an interface without one routes no
// IPv6 peer. Peers that come and go are followed, a route deleted by hand
// comes back, the sandbox's own addresses get none, and withdrawn entries
// take theirs.
func TestSandboxPeerRoutes(t *testing.T) {
	for _, dual := range []bool{false, true} {
		t.Run(map[bool]string{false: "ipv4", true: "dual-stack"}[dual], func(t *testing.T) { testSandboxPeerRoutes(t, dual) })
	}
}

func testSandboxPeerRoutes(t *testing.T, dual bool) {
	var mu sync.Mutex
	peers := map[string][]netip.Addr{}
	setPeers := func(network string, addrs ...string) {
		mu.Lock()
		defer mu.Unlock()
		peers[network] = nil
		for _, a := range addrs {
			peers[network] = append(peers[network], netip.MustParseAddr(a))
		}
	}
	setPeers("netA", "10.66.0.1", "10.66.0.5", "fd00::1", "fd00::5")
	setPeers("netB", "10.66.0.2", "10.66.0.9", "fd00::2", "fd00::9")
	b := newHealBed(t, func(network string) []netip.Addr {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(peers[network])
	})
	d, sb := b.d, b.sandbox
	eps := map[string]SourceRoute{
		"ep1": {Sandbox: b.sandboxPath, Addr: netip.MustParseAddr("10.66.0.1"), Gateway: netip.MustParseAddr("169.254.1.1"), Peers: "netA"},
		"ep2": {Sandbox: b.sandboxPath, Addr: netip.MustParseAddr("10.66.0.2"), Gateway: netip.MustParseAddr("169.254.1.2"), Peers: "netB"},
	}
	for id, r := range eps {
		if dual {
			r.Addr6 = netip.MustParseAddr("fd00::" + r.Addr.String()[len("10.66.0."):])
		}
		if err := d.SetSourceRoute(id, r); err != nil {
			t.Fatal(err)
		}
	}
	sandboxIface(t, sb, "eth0", "10.66.0.1/32", "169.254.1.1")
	sandboxIface(t, sb, "eth1", "10.66.0.2/32", "169.254.1.2")
	v6 := func(routes ...string) []string { return nil }
	if dual {
		addAddr6(t, sb, "eth0", "fd00::1/128")
		addAddr6(t, sb, "eth1", "fd00::2/128")
		v6 = func(routes ...string) []string { return routes }
	}
	gw6 := IPv6Gateway.String()
	want := func(v4 []string, v6 []string) []string { return slices.Sorted(slices.Values(append(v4, v6...))) }

	routes := func() []string { return peerRoutes(t, sb) }
	wantEqual(t, "peer routes", routes, want([]string{"10.66.0.5/32 via 169.254.1.1 dev eth0 src 10.66.0.1",
		"10.66.0.9/32 via 169.254.1.2 dev eth1 src 10.66.0.2"},
		v6("fd00::5/128 via "+gw6+" dev eth0 src fd00::1", "fd00::9/128 via "+gw6+" dev eth1 src fd00::2"))...)
	if got := sb.Run(t, "ip", "route", "get", "10.66.0.9"); !strings.Contains(got, "dev eth1 src 10.66.0.2") {
		t.Errorf("ip route get 10.66.0.9 = %q, want it to leave by eth1 from 10.66.0.2", got)
	}
	if dual {
		if got := sb.Run(t, "ip", "-6", "route", "get", "fd00::9"); !strings.Contains(got, "dev eth1") {
			t.Errorf("ip -6 route get fd00::9 = %q, want it to leave by eth1 (from fd00::2)", got)
		}
	}

	setPeers("netB", "10.66.0.2", "10.66.0.10", "fd00::2", "fd00::10") // .9 left, .10 came
	d.Kick()
	later := want([]string{"10.66.0.10/32 via 169.254.1.2 dev eth1 src 10.66.0.2", "10.66.0.5/32 via 169.254.1.1 dev eth0 src 10.66.0.1"},
		v6("fd00::10/128 via "+gw6+" dev eth1 src fd00::2", "fd00::5/128 via "+gw6+" dev eth0 src fd00::1"))
	wantEqual(t, "peers followed", routes, later...)

	sb.Run(t, "ip", "route", "del", "10.66.0.5/32")
	if dual {
		sb.Run(t, "ip", "-6", "route", "del", "fd00::10/128")
	}
	wantEqual(t, "healed", routes, later...)

	d.RemoveSourceRoute("ep2")
	wantEqual(t, "withdrawn entry", routes, want([]string{"10.66.0.5/32 via 169.254.1.1 dev eth0 src 10.66.0.1"},
		v6("fd00::5/128 via "+gw6+" dev eth0 src fd00::1"))...)
	d.RemoveSourceRoute("ep1")
	wantEqual(t, "all withdrawn", routes)
}

// addAddr6 gives a sandbox interface an IPv6 address as Docker does
// (without duplicate address detection: usable at once).
func addAddr6(t *testing.T, n *felixtest.NS, iface, addr string) {
	t.Helper()
	a, err := netlink.ParseAddr(addr)
	if err != nil {
		t.Fatal(err)
	}
	a.Flags = unix.IFA_F_NODAD
	if err := n.NL.AddrAdd(n.Link(t, iface), a); err != nil {
		t.Fatal(err)
	}
}

// peerRoutes lists the sandbox's main-table routes of our protocol, both
// families.
func peerRoutes(t *testing.T, n *felixtest.NS) []string {
	t.Helper()
	var out []string
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := n.NL.RouteListFiltered(fam, &netlink.Route{Protocol: DefaultRouteProtocol, Table: unix.RT_TABLE_MAIN},
			netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			l, err := n.NL.LinkByIndex(r.LinkIndex)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s via %s dev %s src %s", r.Dst, r.Gw, l.Attrs().Name, r.Src))
		}
	}
	slices.Sort(out)
	return out
}

// TestPeersChangedMarksSandboxes: a datastore change to an endpoint of a
// network whose peers a sandbox routes (or any endpoint deletion) marks
// the sandboxes for re-sync; other changes do not.
func TestPeersChangedMarksSandboxes(t *testing.T) {
	d := New(Config{Logger: quietLogger()})
	wep := func(network string) resources.Resource {
		return &resources.WorkloadEndpoint{Spec: resources.WorkloadEndpointSpec{Network: network}}
	}
	ev := func(obj resources.Resource) model.SyncEvent {
		return model.SyncEvent{Updates: []model.Update{{Kind: resources.KindWorkloadEndpoint, Name: "w", Object: obj}}}
	}
	check := func(what string, e model.SyncEvent, want bool) {
		t.Helper()
		d.mu.Lock()
		defer d.mu.Unlock()
		d.sourcesDirty = false
		d.peersChanged(e)
		if d.sourcesDirty != want {
			t.Errorf("%s: dirty = %v, want %v", what, d.sourcesDirty, want)
		}
	}
	check("no peer routes recorded", ev(wep("netA")), false)
	r := SourceRoute{Sandbox: "/run/docker/netns/x", Addr: netip.MustParseAddr("10.66.0.1"), Gateway: netip.MustParseAddr("169.254.1.1"), Peers: "netA"}
	if err := d.SetSourceRoute("ep1", r); err != nil {
		t.Fatal(err)
	}
	check("peer of the network", ev(wep("netA")), true)
	check("other network", ev(wep("netZ")), false)
	check("deleted endpoint", ev(nil), true)
	check("other kind", model.SyncEvent{Updates: []model.Update{{Kind: resources.KindProfile, Name: "p"}}}, false)
}
