package routes

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// host is a namespace with an "uplink" bridge holding 10.99.0.1/24.
type host struct {
	path string
	ns   netns.NsHandle // closed by testenv's cleanup
	nl   *netlink.Handle
}

func newHost(t *testing.T) *host {
	t.Helper()
	testenv.RequireRoot(t)
	nsh, name := testenv.NewNetNS(t)
	nl, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nl.Close)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "uplink0"}}
	if err := nl.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	if err := nl.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("10.99.0.1/24")
	if err := nl.AddrAdd(br, addr); err != nil {
		t.Fatal(err)
	}
	return &host{path: filepath.Join(testenv.NetNSDir, name), ns: nsh, nl: nl}
}

// strictHandle is a second handle in h's namespace with strict checking on.
func (h *host) strictHandle(t *testing.T) *netlink.Handle {
	t.Helper()
	sh, err := netlink.NewHandleAt(h.ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sh.Close)
	if err := sh.SetStrictCheck(true); err != nil {
		t.Fatal(err)
	}
	return sh
}

// applier is a Manager driven the way felix's loop drives it: Set applies
// at once, Resync re-applies the last state (the owner's resync timer).
type applier struct {
	m    *Manager
	last Desired
	st   Status
}

func (a *applier) Set(d Desired)  { a.last = d; a.st, _ = a.m.Apply(d) }
func (a *applier) Resync()        { a.Set(a.last) }
func (a *applier) Status() Status { return a.st }

func start(t *testing.T, h *host) (*applier, func()) {
	t.Helper()
	a := &applier{m: NewManager(Config{Logger: quiet}, h.nl)}
	return a, func() {
		if _, err := a.m.RemoveOurRoutes(); err != nil {
			t.Errorf("remove our routes: %v", err)
		}
	}
}

func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ourRoutes renders our routes as "dst via gw [dev] [onlink] [metric]".
func (h *host) ourRoutes(t *testing.T) []string {
	t.Helper()
	rs, err := h.nl.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: DefaultRouteProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		s := fmt.Sprintf("%s via %s", r.Dst, r.Gw)
		if l, err := h.nl.LinkByIndex(r.LinkIndex); err == nil && r.Flags&unix.RTNH_F_ONLINK != 0 {
			s += " dev " + l.Attrs().Name + " onlink"
		}
		if r.Priority != 0 {
			s += fmt.Sprintf(" metric %d", r.Priority)
		}
		out = append(out, s)
	}
	return out
}

func routesAre(t *testing.T, h *host, want ...string) func() error {
	return func() error {
		got := h.ourRoutes(t)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("routes %v, want %v", got, want)
		}
		return nil
	}
}

func rt(dst, gw string) Route {
	return Route{Dst: netip.MustParsePrefix(dst), Gw: netip.MustParseAddr(gw)}
}

// TestRoutesConvergeAndHeal runs with our routes dumped through the
// Manager's handle (filtered here) and through a strict-checking one
// (Config.Dumps: filtered by the kernel), with a route of another protocol
// beside ours either way.
func TestRoutesConvergeAndHeal(t *testing.T) {
	t.Run("filtered here", func(t *testing.T) { testRoutesConvergeAndHeal(t, false) })
	t.Run("filtered by the kernel", func(t *testing.T) { testRoutesConvergeAndHeal(t, true) })
}

func testRoutesConvergeAndHeal(t *testing.T, strict bool) {
	h := newHost(t)
	// A stale route of ours (from an earlier run) and someone else's route.
	stale := &netlink.Route{Dst: prefixToIPNet(netip.MustParsePrefix("10.50.0.0/26")), Gw: net.ParseIP("10.99.0.9"), Protocol: DefaultRouteProtocol}
	other := &netlink.Route{Dst: prefixToIPNet(netip.MustParsePrefix("10.60.0.0/26")), Gw: net.ParseIP("10.99.0.9"), Protocol: unix.RTPROT_BOOT}
	for _, r := range []*netlink.Route{stale, other} {
		if err := h.nl.RouteAdd(r); err != nil {
			t.Fatal(err)
		}
	}
	d, stop := start(t, h)
	if strict {
		d.m = NewManager(Config{Logger: quiet, Dumps: h.strictHandle(t)}, h.nl)
	}
	d.Set(Desired{KeepStale: true, Routes: []Route{rt("10.40.0.0/26", "10.99.0.2")}})
	eventually(t, "new route added, stale one kept", routesAre(t, h, "10.40.0.0/26 via 10.99.0.2", "10.50.0.0/26 via 10.99.0.9"))

	d.Set(Desired{Routes: []Route{rt("10.40.0.0/26", "10.99.0.3"), rt("10.60.0.0/26", "10.99.0.2")}})
	eventually(t, "next hop changed, stale route deleted", routesAre(t, h, "10.40.0.0/26 via 10.99.0.3"))
	if st := d.Status(); len(st.Conflicts) != 1 || !strings.Contains(st.Conflicts[0], "10.60.0.0/26") {
		t.Errorf("conflicts = %v, want the route held by another protocol", st.Conflicts)
	}
	if rs, _ := h.nl.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Protocol: unix.RTPROT_BOOT}, netlink.RT_FILTER_PROTOCOL); len(rs) != 1 {
		t.Errorf("the other protocol's route was touched: %v", rs)
	}

	// Deleted behind our back: put back.
	if err := h.nl.RouteDel(&netlink.Route{Dst: prefixToIPNet(netip.MustParsePrefix("10.40.0.0/26")), Protocol: DefaultRouteProtocol}); err != nil {
		t.Fatal(err)
	}
	d.Resync()
	eventually(t, "deleted route healed", routesAre(t, h, "10.40.0.0/26 via 10.99.0.3"))

	stop()
	if got := h.ourRoutes(t); len(got) != 0 {
		t.Errorf("routes left after stop: %v", got)
	}
}

// TestRouteMetric: a route's priority is its kernel metric; a changed
// metric replaces the route (the metric is part of its key: one route
// stays).
func TestRouteMetric(t *testing.T) {
	h := newHost(t)
	d, _ := start(t, h)
	r := rt("10.41.0.0/26", "10.99.0.2")
	r.Priority = 300
	d.Set(Desired{Routes: []Route{r}})
	eventually(t, "route with metric", routesAre(t, h, "10.41.0.0/26 via 10.99.0.2 metric 300"))
	r.Priority = 400
	d.Set(Desired{Routes: []Route{r}})
	eventually(t, "metric changed", routesAre(t, h, "10.41.0.0/26 via 10.99.0.2 metric 400"))
	r.Priority = 0
	d.Set(Desired{Routes: []Route{r}})
	eventually(t, "metric back to the default", routesAre(t, h, "10.41.0.0/26 via 10.99.0.2"))
}

// TestRouteDevices: a route naming its device goes on that device (looked
// up by name); one naming a device that does not exist is an error that
// names it, and the other routes are programmed all the same; once the
// device exists the route follows.
func TestRouteDevices(t *testing.T) {
	h := newHost(t)
	d, _ := start(t, h)
	onUplink := Route{Dst: netip.MustParsePrefix("10.42.0.0/26"), Gw: netip.MustParseAddr("10.99.0.2"), Dev: "uplink0", OnLink: true}
	onMissing := Route{Dst: netip.MustParsePrefix("10.43.0.0/26"), Gw: netip.MustParseAddr("10.98.0.2"), Dev: "nosuch0", OnLink: true}
	plain := rt("10.44.0.0/26", "10.99.0.3")
	_, err := d.m.Apply(Desired{Routes: []Route{onUplink, onMissing, plain}})
	if err == nil || !strings.Contains(err.Error(), "device nosuch0 does not exist") {
		t.Errorf("Apply with a missing device: %v, want an error naming nosuch0", err)
	}
	eventually(t, "the other routes programmed", routesAre(t, h, "10.42.0.0/26 via 10.99.0.2 dev uplink0 onlink", "10.44.0.0/26 via 10.99.0.3"))

	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "nosuch0"}}
	if err := h.nl.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	if err := h.nl.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	if _, err := d.m.Apply(Desired{Routes: []Route{onUplink, onMissing, plain}}); err != nil {
		t.Fatalf("Apply once the device exists: %v", err)
	}
	eventually(t, "the route on the new device", routesAre(t, h, "10.42.0.0/26 via 10.99.0.2 dev uplink0 onlink",
		"10.43.0.0/26 via 10.98.0.2 dev nosuch0 onlink", "10.44.0.0/26 via 10.99.0.3"))
}

func TestVXLANDeviceAndEntries(t *testing.T) {
	h := newHost(t)
	d, _ := start(t, h)
	mac, _ := net.ParseMAC("66:aa:00:00:00:01")
	peerMAC, _ := net.ParseMAC("66:aa:00:00:00:02")
	vx := &VXLAN{VNI: 4096, Port: 4789, MTU: 1450, MAC: mac, Addr: netip.MustParseAddr("10.40.0.1"), Local: netip.MustParseAddr("10.99.0.1")}
	vtep := VTEP{Node: "host2", MAC: peerMAC, Addr: netip.MustParseAddr("10.41.0.1"), IP: netip.MustParseAddr("10.99.0.2")}
	d.Set(Desired{VXLAN: vx, VTEPs: []VTEP{vtep}, Routes: []Route{
		{Dst: netip.MustParsePrefix("10.41.0.0/26"), Gw: vtep.Addr, Dev: DefaultVXLANDevice, OnLink: true},
	}})
	eventually(t, "route via the VXLAN device", routesAre(t, h, "10.41.0.0/26 via 10.41.0.1 dev vxlan.calico onlink"))
	link, err := h.nl.LinkByName(DefaultVXLANDevice)
	if err != nil {
		t.Fatal(err)
	}
	v := link.(*netlink.Vxlan)
	if v.VxlanId != 4096 || v.Port != 4789 || v.MTU != 1450 || v.HardwareAddr.String() != mac.String() || v.Learning ||
		addrOf(v.SrcAddr) != vx.Local || v.Flags&net.FlagUp == 0 {
		t.Errorf("device = %+v", v)
	}
	addrs, _ := h.nl.AddrList(link, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.40.0.1/32" {
		t.Errorf("addresses = %v", addrs)
	}
	fdb, _ := h.nl.NeighList(link.Attrs().Index, unix.AF_BRIDGE)
	if !hasNeigh(fdb, peerMAC, "10.99.0.2") {
		t.Errorf("FDB = %v, want %s -> 10.99.0.2", fdb, peerMAC)
	}
	arp, _ := h.nl.NeighList(link.Attrs().Index, unix.AF_INET)
	if !hasNeigh(arp, peerMAC, "10.41.0.1") {
		t.Errorf("ARP = %v, want 10.41.0.1 -> %s", arp, peerMAC)
	}

	// A new VNI re-creates the device; the route comes back with it.
	vx2 := *vx
	vx2.VNI = 4097
	d.Set(Desired{VXLAN: &vx2, VTEPs: []VTEP{vtep}, Routes: []Route{
		{Dst: netip.MustParsePrefix("10.41.0.0/26"), Gw: vtep.Addr, Dev: DefaultVXLANDevice, OnLink: true},
	}})
	eventually(t, "device re-created with the new VNI", func() error {
		l, err := h.nl.LinkByName(DefaultVXLANDevice)
		if err != nil || l.(*netlink.Vxlan).VxlanId != 4097 {
			return fmt.Errorf("device %v, err %v", l, err)
		}
		return routesAre(t, h, "10.41.0.0/26 via 10.41.0.1 dev vxlan.calico onlink")()
	})

	d.Set(Desired{})
	eventually(t, "device removed when VXLAN is off", func() error {
		if _, err := h.nl.LinkByName(DefaultVXLANDevice); err == nil {
			return fmt.Errorf("still there")
		}
		return routesAre(t, h)()
	})
}

func hasNeigh(ns []netlink.Neigh, mac net.HardwareAddr, ip string) bool {
	for _, n := range ns {
		if n.HardwareAddr.String() == mac.String() && n.IP.String() == ip && n.State&netlink.NUD_PERMANENT != 0 {
			return true
		}
	}
	return false
}

func TestIPIPProbe(t *testing.T) {
	h := newHost(t)
	ok, reason := ProbeIPIP(h.path)
	t.Logf("IPIP available: %v %s", ok, reason)
	if !ok && !strings.Contains(reason, "CONFIG_NET_IPIP") {
		t.Errorf("reason %q does not say what is missing", reason)
	}
	d, _ := start(t, h)
	d.Set(Desired{IPIP: &IPIP{MTU: 1480, Addr: netip.MustParseAddr("10.40.0.1")}})
	eventually(t, "IPIP applied or reported", func() error {
		st := d.Status()
		if st.IPIPAvailable != ok {
			return fmt.Errorf("status %+v", st)
		}
		if !ok && !strings.Contains(st.LastError, "IPIP") {
			return fmt.Errorf("status %+v does not report missing IPIP", st)
		}
		return nil
	})
	if ok {
		l, err := h.nl.LinkByName(IPIPDevice)
		if err != nil || l.Attrs().MTU != 1480 {
			t.Errorf("tunl0 = %v, %v", l, err)
		}
	}
}
