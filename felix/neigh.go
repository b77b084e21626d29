package felix

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
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
// entries on workload interfaces. With dump (the links were dumped: a full
// resync, the watcher resubscribed) or after a failure it reads the
// kernel's entries; otherwise it trusts the last sync's (neighMemo) but on
// the interfaces looked up again this apply (relinked: recreated, or set
// down, which flushes even permanent entries), whose entries it writes
// again. A dump of every entry at each container start cost ~3.5 ms on a
// host of 10,000 endpoints (docs/benchmarks.md).
func (k *kernelState) syncNeighbours(eps []boundEndpoint, links map[string]netlink.Link, dump bool) (err error) {
	defer func() {
		if err != nil {
			k.neighMemo = nil // the next sync dumps
		}
	}()
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
	have := k.neighMemo
	if dump || have == nil {
		if have, err = k.ourNeighbours(links); err != nil {
			return err
		}
	}
	errs := errList{what: "program ARP entries"}
	next := make(map[neighKey]net.HardwareAddr, len(want))
	var (
		sets []neighKey
		reqs []*nl.NetlinkRequest
	)
	for key, mac := range want {
		if cur, ok := have[key]; ok && bytes.Equal(cur, mac) && !k.relinked[key.ifindex] {
			next[key] = mac // already right
			continue
		}
		sets, reqs = append(sets, key), append(reqs, neighRequest(key.ifindex, key.ip, mac))
	}
	for i, err := range writeBatched(k.rt, reqs) {
		if key := sets[i]; err != nil {
			errs.add(fmt.Errorf("set ARP entry %s dev #%d: %w", key.ip, key.ifindex, err))
		} else {
			next[key] = want[key]
		}
	}
	for key := range have {
		if _, ok := want[key]; ok {
			continue
		}
		n := &netlink.Neigh{LinkIndex: key.ifindex, Family: netlink.FAMILY_V4, IP: key.ip.AsSlice()}
		if err := k.nl.NeighDel(n); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENODEV) {
			errs.add(fmt.Errorf("delete ARP entry %s dev #%d: %w", key.ip, key.ifindex, err))
		}
	}
	k.neighMemo = next
	return errs.err()
}

// ourNeighbours dumps the permanent IPv4 neighbour entries on workload
// interfaces (links: the interfaces by name).
func (k *kernelState) ourNeighbours(links map[string]netlink.Link) (map[neighKey]net.HardwareAddr, error) {
	k.neighDumps.Add(1)
	workload := map[int]bool{}
	for name, l := range links {
		workload[l.Attrs().Index] = strings.HasPrefix(name, k.cfg.InterfacePrefix)
	}
	actual, err := retryDump("ARP entries", func() ([]netlink.Neigh, error) {
		return k.nl.NeighList(0, netlink.FAMILY_V4)
	})
	if err != nil {
		return nil, err
	}
	out := map[neighKey]net.HardwareAddr{}
	for _, n := range actual {
		if n.State&netlink.NUD_PERMANENT == 0 || !workload[n.LinkIndex] {
			continue
		}
		ip, _ := netip.AddrFromSlice(n.IP)
		out[neighKey{n.LinkIndex, ip.Unmap()}] = n.HardwareAddr
	}
	return out, nil
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
	var (
		links []netlink.Link
		reqs  []*nl.NetlinkRequest
	)
	for idx, link := range need {
		links, reqs = append(links, link), append(reqs, gatewayRequest(idx))
	}
	for i, err := range writeBatched(k.rt, reqs) {
		if err != nil && !errors.Is(err, unix.EEXIST) {
			errs.add(fmt.Errorf("add %s to %s: %w", IPv6Gateway, links[i].Attrs().Name, err))
		}
	}
	return errs.err()
}
