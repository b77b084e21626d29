package felix

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// TestWriteBatched writes routes and ARP entries as the endpoint sync
// does, over three datagrams, with requests failing at a datagram's
// start, in its middle, as the last of a datagram (the one answered
// anyway) and as the very last: each error belongs to its request, and
// the kernel holds exactly what the others asked for, as the sync's diff
// reads it back (routeKeyOf); and the IPv6 gateway addresses likewise.
func TestWriteBatched(t *testing.T) {
	host := felixtest.NewNS(t, "nb")
	felixtest.AddUplink(t, host)
	v := newTestVeths(t, host)
	var ifindex []int
	for i := range 3 {
		iface := fmt.Sprintf("calinb%07d", i)
		if err := v.CreateVeth(iface, fmt.Sprintf("tmpnb%07d", i), testMAC, 1500); err != nil {
			t.Fatal(err)
		}
		ifindex = append(ifindex, host.Link(t, iface).Attrs().Index)
	}
	sock, err := routeSocket(host.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	const proto, missing = 80, 999999 // missing: no such interface
	failing := []int{5, batchSize, 2*batchSize - 1, 2*batchSize + 21}
	n := failing[len(failing)-1] + 1

	var routes []*netlink.Route
	want := map[routeKey]bool{}
	for i := range n {
		r := &netlink.Route{LinkIndex: ifindex[i%3], Type: unix.RTN_UNICAST, Scope: netlink.SCOPE_LINK,
			Protocol: proto, Table: unix.RT_TABLE_MAIN,
			Dst: prefixToIPNet(netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 66, byte(i >> 8), byte(i)}), 32))}
		switch {
		case slices.Contains(failing, i):
			r.LinkIndex = missing
		case i == 1: // a local block
			r.LinkIndex, r.Type, r.Scope = 0, unix.RTN_BLACKHOLE, netlink.SCOPE_UNIVERSE
			r.Dst = prefixToIPNet(netip.MustParsePrefix("10.67.0.0/26"))
		case i == 2: // an IPv6 endpoint's
			r.Scope = netlink.SCOPE_UNIVERSE
			r.Dst = prefixToIPNet(netip.MustParsePrefix("fd00:66::2/128"))
		}
		routes = append(routes, r)
		if r.LinkIndex != missing {
			want[routeKeyOf(*r)] = true
		}
	}
	write := func(round string) {
		t.Helper()
		reqs := make([]*nl.NetlinkRequest, len(routes))
		for i, r := range routes {
			reqs[i] = routeRequest(r)
		}
		for i, err := range writeBatched(sock, reqs) {
			if fails := slices.Contains(failing, i); fails != (err != nil) || (fails && !errors.Is(err, unix.ENODEV)) {
				t.Errorf("%s: route %d (%s): %v", round, i, routes[i].Dst, err)
			}
		}
		have, err := host.NL.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Protocol: proto, Table: unix.RT_TABLE_MAIN},
			netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
		if err != nil {
			t.Fatal(err)
		}
		got := map[routeKey]bool{}
		for _, r := range have {
			got[routeKeyOf(r)] = true
		}
		if len(got) != len(want) || len(have) != len(want) {
			t.Errorf("%s: the kernel has %d routes (%d distinct), want %d", round, len(have), len(got), len(want))
		}
		for k := range want {
			if !got[k] {
				t.Errorf("%s: route %s missing", round, describeRoute(k))
			}
		}
	}
	write("added")
	write("replaced") // the same again: NLM_F_REPLACE, no EEXIST

	var reqs []*nl.NetlinkRequest
	macs := map[string]net.HardwareAddr{}
	for i := range n {
		ip := netip.AddrFrom4([4]byte{10, 66, byte(i >> 8), byte(i)})
		mac := net.HardwareAddr{0x02, 0x42, 0x0a, 0x42, byte(i >> 8), byte(i)}
		idx := ifindex[i%3]
		if slices.Contains(failing, i) {
			idx = missing
		} else {
			macs[fmt.Sprintf("%d/%s", idx, ip)] = mac
		}
		reqs = append(reqs, neighRequest(idx, ip, mac))
	}
	for i, err := range writeBatched(sock, reqs) {
		if fails := slices.Contains(failing, i); fails != (err != nil) {
			t.Errorf("ARP entry %d: %v", i, err)
		}
	}
	have, err := host.NL.NeighList(0, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, e := range have {
		key := fmt.Sprintf("%d/%s", e.LinkIndex, e.IP)
		if mac, ok := macs[key]; ok {
			found++
			if e.State != netlink.NUD_PERMANENT || e.HardwareAddr.String() != mac.String() {
				t.Errorf("ARP entry %s: state %#x, MAC %s; want permanent, %s", key, e.State, e.HardwareAddr, mac)
			}
		}
	}
	if found != len(macs) {
		t.Errorf("%d of %d ARP entries in the kernel", found, len(macs))
	}

	// The IPv6 gateway address on each interface (and on a missing one):
	// as AddrAdd puts it, and refused as a duplicate the second time, as
	// syncGateways expects (it ignores EEXIST).
	gateways := func() []*nl.NetlinkRequest {
		return []*nl.NetlinkRequest{gatewayRequest(ifindex[0]), gatewayRequest(missing),
			gatewayRequest(ifindex[1]), gatewayRequest(ifindex[2])}
	}
	for round, want := range []error{nil, unix.EEXIST} {
		for i, err := range writeBatched(sock, gateways()) {
			if i == 1 && !errors.Is(err, unix.ENODEV) || i != 1 && !errors.Is(err, want) {
				t.Errorf("round %d: gateway address %d: %v, want %v", round, i, err, want)
			}
		}
	}
	for _, idx := range ifindex {
		addrs, err := host.NL.AddrList(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Index: idx}}, netlink.FAMILY_V6)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(addrs, func(a netlink.Addr) bool { return a.IP.Equal(IPv6Gateway.AsSlice()) })
		if i < 0 {
			t.Errorf("interface #%d: no %s among %v", idx, IPv6Gateway, addrs)
			continue
		}
		if a := addrs[i]; a.Scope != unix.RT_SCOPE_LINK || a.Flags&unix.IFA_F_NODAD == 0 || a.String() != IPv6Gateway.String()+"/64" {
			t.Errorf("interface #%d: %s scope %d flags %#x; want /64, link scope, nodad", idx, a, a.Scope, a.Flags)
		}
	}
}
