package felixtest

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Host addresses AddUplink gives the host namespace: the source of
// host-to-workload traffic and the target of workload-to-host tests.
var (
	HostV4 = netip.MustParseAddr("192.0.2.10")
	HostV6 = netip.MustParseAddr("2001:db8::10")
)

// IPv6Gateway is felix.IPv6Gateway (the host side's link-local address),
// repeated here because this package cannot import felix.
var IPv6Gateway = netip.MustParseAddr("fe80::ecee:eeff:feee:eeee")

// AddUplink makes the host namespace look like a real host: addresses
// HostV4 and HostV6 and a default route through an interface that goes
// nowhere, so the kernel proxy-ARPs for 169.254.1.1 as it does on a real
// host (see felix's package doc).
func AddUplink(tb testing.TB, host *NS) {
	tb.Helper()
	var link netlink.Link = &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "uplink0"}}
	if err := host.NL.LinkAdd(link); err != nil { // no dummy module: a port-less bridge also drops all
		link = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "uplink0"}}
		if err := host.NL.LinkAdd(link); err != nil {
			tb.Fatal(err)
		}
	}
	link = host.Link(tb, "uplink0")
	if err := host.NL.LinkSetUp(link); err != nil {
		tb.Fatal(err)
	}
	for _, a := range []netip.Addr{HostV4, HostV6} {
		addr := &netlink.Addr{IPNet: PrefixToIPNet(netip.PrefixFrom(a, a.BitLen())), Flags: unix.IFA_F_NODAD}
		if err := host.NL.AddrAdd(link, addr); err != nil {
			tb.Fatal(err)
		}
	}
	def := &netlink.Route{LinkIndex: link.Attrs().Index, Scope: netlink.SCOPE_LINK,
		Dst: PrefixToIPNet(netip.MustParsePrefix("0.0.0.0/0"))}
	if err := host.NL.RouteAdd(def); err != nil {
		tb.Fatal(err)
	}
}

// VethMaker creates a workload veth pair in the host namespace:
// (*felix.Veths).CreateVeth.
type VethMaker func(hostIface, tmpPeer string, mac net.HardwareAddr, mtu int) error

// Workload is a "container": a namespace holding cali0, set up the way
// Docker sets it up from the driver's Join answer.
type Workload struct {
	NS       *NS
	HostSide string // host-side interface
	MAC      net.HardwareAddr
	V4, V6   netip.Addr
}

// WorkloadSpec names and addresses a workload; see DefaultSpec.
type WorkloadSpec struct {
	HostSide string
	MAC      net.HardwareAddr
	V4, V6   netip.Addr
}

// DefaultSpec is workload n's spec: host side "calie2e%07d", MAC
// 02:42:0a:41:01:<n>, addresses 10.65.1.<n> and fd00:65:1::<n>.
func DefaultSpec(n int) WorkloadSpec {
	return WorkloadSpec{
		HostSide: fmt.Sprintf("calie2e%07d", n),
		MAC:      net.HardwareAddr{0x02, 0x42, 0x0a, 0x41, 0x01, byte(n)},
		V4:       netip.AddrFrom4([4]byte{10, 65, 1, byte(n)}),
		V6:       netip.MustParseAddr(fmt.Sprintf("fd00:65:1::%x", n)),
	}
}

// NewWorkload creates the veth in the host namespace with mk, moves the
// peer into a new namespace and configures it as Docker would: cali0 with
// the addresses, "default via 169.254.1.1" (on-link) and an IPv6 default
// route via IPv6Gateway.
func NewWorkload(tb testing.TB, host *NS, mk VethMaker, spec WorkloadSpec) *Workload {
	tb.Helper()
	w := &Workload{NS: NewNS(tb, "wl-"+spec.HostSide), HostSide: spec.HostSide, MAC: spec.MAC, V4: spec.V4, V6: spec.V6}
	tmp := "tmp" + spec.HostSide[min(4, len(spec.HostSide)):]
	if err := mk(w.HostSide, tmp, w.MAC, 1500); err != nil {
		tb.Fatal(err)
	}
	if err := host.NL.LinkSetNsFd(host.Link(tb, tmp), int(*w.NS.NS.Handle())); err != nil {
		tb.Fatal(err)
	}
	nl := w.NS.NL
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("workload %s: %v", spec.HostSide, err)
		}
	}
	must(nl.LinkSetName(w.NS.Link(tb, tmp), "cali0"))
	cali0 := w.NS.Link(tb, "cali0")
	must(nl.LinkSetUp(cali0))
	if w.V4.IsValid() {
		must(nl.AddrAdd(cali0, &netlink.Addr{IPNet: PrefixToIPNet(netip.PrefixFrom(w.V4, 32))}))
		gw := net.IPv4(169, 254, 1, 1)
		must(nl.RouteAdd(&netlink.Route{LinkIndex: cali0.Attrs().Index, Scope: netlink.SCOPE_LINK,
			Dst: &net.IPNet{IP: gw, Mask: net.CIDRMask(32, 32)}}))
		must(nl.RouteAdd(&netlink.Route{LinkIndex: cali0.Attrs().Index, Gw: gw,
			Dst: PrefixToIPNet(netip.MustParsePrefix("0.0.0.0/0"))}))
	}
	if w.V6.IsValid() {
		must(nl.AddrAdd(cali0, &netlink.Addr{IPNet: PrefixToIPNet(netip.PrefixFrom(w.V6, 128)), Flags: unix.IFA_F_NODAD}))
		must(nl.RouteAdd(&netlink.Route{LinkIndex: cali0.Attrs().Index, Gw: IPv6Gateway.AsSlice(),
			Dst: PrefixToIPNet(netip.MustParsePrefix("::/0"))}))
	}
	return w
}

// Addrs returns the workload's addresses as host routes.
func (w *Workload) Addrs() []netip.Prefix {
	var out []netip.Prefix
	for _, a := range []netip.Addr{w.V4, w.V6} {
		if a.IsValid() {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

// PrefixToIPNet converts for netlink.
func PrefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
