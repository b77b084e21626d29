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
// (two networks without --subnet) gets a /32 route to each peer of each
// network via that network's interface, with its address as source; peers
// that come and go are followed, a route deleted by hand comes back, the
// sandbox's own addresses get none, and withdrawn entries take theirs.
func TestSandboxPeerRoutes(t *testing.T) {
	var mu sync.Mutex
	peers := map[string][]netip.Addr{
		"netA": {netip.MustParseAddr("10.66.0.1"), netip.MustParseAddr("10.66.0.5")},
		"netB": {netip.MustParseAddr("10.66.0.2"), netip.MustParseAddr("10.66.0.9"), netip.MustParseAddr("fd00::9")},
	}
	setPeers := func(network string, addrs ...string) {
		mu.Lock()
		defer mu.Unlock()
		peers[network] = nil
		for _, a := range addrs {
			peers[network] = append(peers[network], netip.MustParseAddr(a))
		}
	}
	b := newHealBed(t, func(network string) []netip.Addr {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(peers[network])
	})
	d, sb := b.d, b.sandbox
	for id, r := range map[string]SourceRoute{
		"ep1": {Sandbox: b.sandboxPath, Addr: netip.MustParseAddr("10.66.0.1"), Gateway: netip.MustParseAddr("169.254.1.1"), Peers: "netA"},
		"ep2": {Sandbox: b.sandboxPath, Addr: netip.MustParseAddr("10.66.0.2"), Gateway: netip.MustParseAddr("169.254.1.2"), Peers: "netB"},
	} {
		if err := d.SetSourceRoute(id, r); err != nil {
			t.Fatal(err)
		}
	}
	sandboxIface(t, sb, "eth0", "10.66.0.1/32", "169.254.1.1")
	sandboxIface(t, sb, "eth1", "10.66.0.2/32", "169.254.1.2")

	routes := func() []string { return peerRoutes(t, sb) }
	wantEqual(t, "peer routes", routes,
		"10.66.0.5/32 via 169.254.1.1 dev eth0 src 10.66.0.1", "10.66.0.9/32 via 169.254.1.2 dev eth1 src 10.66.0.2")
	if got := sb.Run(t, "ip", "route", "get", "10.66.0.9"); !strings.Contains(got, "dev eth1 src 10.66.0.2") {
		t.Errorf("ip route get 10.66.0.9 = %q, want it to leave by eth1 from 10.66.0.2", got)
	}

	setPeers("netB", "10.66.0.2", "10.66.0.10") // 10.66.0.9 left, 10.66.0.10 came
	d.Kick()
	wantEqual(t, "peers followed", routes,
		"10.66.0.10/32 via 169.254.1.2 dev eth1 src 10.66.0.2", "10.66.0.5/32 via 169.254.1.1 dev eth0 src 10.66.0.1")

	sb.Run(t, "ip", "route", "del", "10.66.0.5/32")
	wantEqual(t, "healed", routes,
		"10.66.0.10/32 via 169.254.1.2 dev eth1 src 10.66.0.2", "10.66.0.5/32 via 169.254.1.1 dev eth0 src 10.66.0.1")

	d.RemoveSourceRoute("ep2")
	wantEqual(t, "withdrawn entry", routes, "10.66.0.5/32 via 169.254.1.1 dev eth0 src 10.66.0.1")
	d.RemoveSourceRoute("ep1")
	wantEqual(t, "all withdrawn", routes)
}

// peerRoutes lists the sandbox's main-table routes of our protocol.
func peerRoutes(t *testing.T, n *felixtest.NS) []string {
	t.Helper()
	rs, err := n.NL.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: DefaultRouteProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		l, err := n.NL.LinkByIndex(r.LinkIndex)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s via %s dev %s src %s", r.Dst, r.Gw, l.Attrs().Name, r.Src))
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
