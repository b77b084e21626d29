package felix

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// workload is a "container": a namespace holding cali0, set up the way
// Docker sets it up from the driver's Join answer.
type workload struct {
	ns       *testNS
	hostSide string
	mac      net.HardwareAddr
	v4, v6   netip.Addr
}

// addUplink makes the host namespace look like a real host: an address
// (the source of host-to-workload traffic) and a default route through an
// interface that goes nowhere, so the kernel proxy-ARPs for 169.254.1.1 as
// it does on a real host (see package doc).
func addUplink(t *testing.T, host *testNS) {
	t.Helper()
	var link netlink.Link = &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "uplink0"}}
	if err := host.nl.LinkAdd(link); err != nil { // no dummy module: a port-less bridge also drops all
		link = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "uplink0"}}
		if err := host.nl.LinkAdd(link); err != nil {
			t.Fatal(err)
		}
	}
	link = host.link(t, "uplink0")
	if err := host.nl.LinkSetUp(link); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"192.0.2.10/32", "2001:db8::10/128"} {
		addr := &netlink.Addr{IPNet: prefixToIPNet(netip.MustParsePrefix(a)), Flags: unix.IFA_F_NODAD}
		if err := host.nl.AddrAdd(link, addr); err != nil {
			t.Fatal(err)
		}
	}
	def := &netlink.Route{LinkIndex: link.Attrs().Index, Scope: netlink.SCOPE_LINK,
		Dst: prefixToIPNet(netip.MustParsePrefix("0.0.0.0/0"))}
	if err := host.nl.RouteAdd(def); err != nil {
		t.Fatal(err)
	}
}

// newWorkload creates the veth in the host namespace with CreateVeth, moves
// the peer into a new namespace and configures it as Docker would.
func newWorkload(t *testing.T, host *testNS, v *Veths, n int) *workload {
	t.Helper()
	w := &workload{
		ns:       newTestNS(t, fmt.Sprintf("wl%d", n)),
		hostSide: fmt.Sprintf("calie2e%07d", n),
		mac:      net.HardwareAddr{0x02, 0x42, 0x0a, 0x41, 0x01, byte(n)},
		v4:       netip.AddrFrom4([4]byte{10, 65, 1, byte(n)}),
		v6:       netip.MustParseAddr(fmt.Sprintf("fd00:65:1::%x", n)),
	}
	tmp := fmt.Sprintf("tmpe2e%07d", n)
	if err := v.CreateVeth(w.hostSide, tmp, w.mac, 1500); err != nil {
		t.Fatal(err)
	}
	if err := host.nl.LinkSetNsFd(host.link(t, tmp), int(*w.ns.ns.Handle())); err != nil {
		t.Fatal(err)
	}
	nl := w.ns.nl
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("workload %d: %v", n, err)
		}
	}
	must(nl.LinkSetName(w.ns.link(t, tmp), "cali0"))
	cali0 := w.ns.link(t, "cali0")
	must(nl.LinkSetUp(cali0))
	must(nl.AddrAdd(cali0, &netlink.Addr{IPNet: prefixToIPNet(netip.PrefixFrom(w.v4, 32))}))
	must(nl.AddrAdd(cali0, &netlink.Addr{IPNet: prefixToIPNet(netip.PrefixFrom(w.v6, 128)), Flags: unix.IFA_F_NODAD}))
	gw := net.IPv4(169, 254, 1, 1)
	must(nl.RouteAdd(&netlink.Route{LinkIndex: cali0.Attrs().Index, Scope: netlink.SCOPE_LINK,
		Dst: &net.IPNet{IP: gw, Mask: net.CIDRMask(32, 32)}}))
	must(nl.RouteAdd(&netlink.Route{LinkIndex: cali0.Attrs().Index, Gw: gw,
		Dst: prefixToIPNet(netip.MustParsePrefix("0.0.0.0/0"))}))
	must(nl.RouteAdd(&netlink.Route{LinkIndex: cali0.Attrs().Index, Gw: IPv6Gateway.AsSlice(),
		Dst: prefixToIPNet(netip.MustParsePrefix("::/0"))}))
	return w
}

func (w *workload) endpoint() Endpoint {
	return Endpoint{ID: w.hostSide, IfaceName: w.hostSide, MAC: w.mac,
		IPv4Nets: []netip.Prefix{netip.PrefixFrom(w.v4, 32)},
		IPv6Nets: []netip.Prefix{netip.PrefixFrom(w.v6, 128)}}
}

// serve listens on addr inside n and answers every connection with "hi".
func serve(t *testing.T, n *testNS, addr netip.Addr) netip.AddrPort {
	t.Helper()
	var l net.Listener
	err := n.ns.Do(func() (err error) {
		l, err = net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// reach connects from inside n to addr and expects "hi".
func reach(n *testNS, addr netip.AddrPort) error {
	var c net.Conn
	err := n.ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", addr.String(), time.Second)
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hi" {
		return fmt.Errorf("read from %s: %q, %v", addr, b, err)
	}
	return nil
}

func TestEndToEndWorkloadsReachEachOther(t *testing.T) {
	host := newTestNS(t, "e2ehost")
	addUplink(t, host)
	v := newTestVeths(t, host)
	d := startDataplane(t, host, Config{EnableIPv6: true})
	// Mimic Docker: FORWARD policy DROP for both IP versions.
	host.run(t, iptablesBinary(d, 4, ""), "-P", "FORWARD", "DROP")
	host.run(t, iptablesBinary(d, 6, ""), "-P", "FORWARD", "DROP")

	a, b := newWorkload(t, host, v, 1), newWorkload(t, host, v, 2)
	d.OnEndpointUpdate(a.endpoint())
	d.OnEndpointUpdate(b.endpoint())
	d.SetLocalBlocks([]netip.Prefix{netip.MustParsePrefix("10.65.1.0/26")})
	waitSynced(t, d)

	for _, tc := range []struct {
		name     string
		from, to *testNS
		addr     netip.Addr
	}{
		{"A to B v4", a.ns, b.ns, b.v4},
		{"B to A v4", b.ns, a.ns, a.v4},
		{"A to B v6", a.ns, b.ns, b.v6},
		{"host to A v4", host, a.ns, a.v4},
		{"host to B v4", host, b.ns, b.v4},
		{"host to B v6", host, b.ns, b.v6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(t, tc.to, tc.addr)
			eventually(t, converge, tc.name, func() error { return reach(tc.from, srv) })
		})
	}

	// An unassigned address of the local block is blackholed, not sent out.
	srv := serve(t, b.ns, b.v4)
	if err := reach(a.ns, netip.AddrPortFrom(netip.MustParseAddr("10.65.1.9"), srv.Port())); err == nil {
		t.Error("reached an unassigned address")
	}
}
