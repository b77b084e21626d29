package felix

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// IPv6Gateway is the workloads' IPv6 default gateway: the EUI-64 link-local
// address of HostSideMAC, which the Dataplane puts on every IPv6 endpoint's
// host-side interface (as Calico does).
var IPv6Gateway = netip.MustParseAddr("fe80::ecee:eeff:feee:eeee")

type neighKey struct {
	ifindex int
	ip      netip.Addr
}

// syncNeighbours keeps a permanent ARP entry for each IPv4 address of each
// endpoint with a known MAC, as felix does, and removes other permanent
// entries on workload interfaces.
func (k *kernelState) syncNeighbours(eps []boundEndpoint, links map[string]netlink.Link) error {
	want := map[neighKey]net.HardwareAddr{}
	for _, ep := range eps {
		if len(ep.MAC) == 0 {
			continue
		}
		for _, p := range ep.IPv4Nets {
			if p.Addr().Is4() && p.IsSingleIP() {
				want[neighKey{ep.link.Attrs().Index, p.Addr()}] = ep.MAC
			}
		}
	}
	workload := map[int]bool{}
	for name, l := range links {
		workload[l.Attrs().Index] = strings.HasPrefix(name, k.cfg.InterfacePrefix)
	}
	actual, err := retryDump("ARP entries", func() ([]netlink.Neigh, error) {
		return k.nl.NeighList(0, netlink.FAMILY_V4)
	})
	if err != nil {
		return err
	}
	errs := errList{what: "program ARP entries"}
	for _, n := range actual {
		if n.State&netlink.NUD_PERMANENT == 0 || !workload[n.LinkIndex] {
			continue
		}
		ip, _ := netip.AddrFromSlice(n.IP)
		key := neighKey{n.LinkIndex, ip.Unmap()}
		mac, ok := want[key]
		switch {
		case ok && bytes.Equal(mac, n.HardwareAddr):
			delete(want, key) // already right
		case !ok:
			if err := k.nl.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
				errs.add(fmt.Errorf("delete ARP entry %s dev #%d: %w", ip, n.LinkIndex, err))
			}
		}
	}
	for key, mac := range want {
		n := &netlink.Neigh{LinkIndex: key.ifindex, Family: netlink.FAMILY_V4,
			State: netlink.NUD_PERMANENT, IP: key.ip.AsSlice(), HardwareAddr: mac}
		if err := k.nl.NeighSet(n); err != nil {
			errs.add(fmt.Errorf("set ARP entry %s dev #%d: %w", key.ip, key.ifindex, err))
		}
	}
	return errs.err()
}

// syncGateways puts IPv6Gateway on the host side of every IPv6 endpoint.
// The address is never removed: it goes with the veth.
func (k *kernelState) syncGateways(eps []boundEndpoint) error {
	if !k.cfg.EnableIPv6 {
		return nil
	}
	need := map[int]netlink.Link{}
	for _, ep := range eps {
		if len(ep.IPv6Nets) > 0 {
			need[ep.link.Attrs().Index] = ep.link
		}
	}
	if len(need) == 0 {
		return nil
	}
	addrs, err := retryDump("IPv6 addresses", func() ([]netlink.Addr, error) {
		return k.nl.AddrList(nil, netlink.FAMILY_V6)
	})
	if err != nil {
		return err
	}
	gw := net.IP(IPv6Gateway.AsSlice())
	for _, a := range addrs {
		if a.IP.Equal(gw) {
			delete(need, a.LinkIndex)
		}
	}
	errs := errList{what: "add IPv6 gateway addresses"}
	for _, link := range need {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: gw, Mask: net.CIDRMask(64, 128)},
			Scope: unix.RT_SCOPE_LINK, Flags: unix.IFA_F_NODAD}
		if err := k.nl.AddrAdd(link, addr); err != nil && !errors.Is(err, unix.EEXIST) {
			errs.add(fmt.Errorf("add %s to %s: %w", IPv6Gateway, link.Attrs().Name, err))
		}
	}
	return errs.err()
}
