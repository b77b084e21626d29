package routes

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// syncVXLAN makes vxlan.calico match v (or removes it when v is nil) and
// gives it exactly the FDB and ARP entries of vteps.
func (k *kernel) syncVXLAN(v *VXLAN, vteps []VTEP) error {
	name := k.cfg.VXLANDevice
	link, err := k.nl.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if err != nil && !errors.As(err, &notFound) {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if v == nil {
		if link == nil {
			return nil
		}
		k.log.Info("Removing VXLAN device (no VXLAN pool)", "device", name)
		return k.nl.LinkDel(link)
	}
	link, err = k.ensureVXLANDevice(link, v)
	if err != nil {
		return fmt.Errorf("VXLAN device %s: %w", name, err)
	}
	idx := link.Attrs().Index
	errs := []error{k.ensureOnlyAddr(link, v.Addr)}
	errs = append(errs, k.syncFDB(idx, vteps), k.syncARP(idx, vteps))
	return errors.Join(errs...)
}

// ensureVXLANDevice creates the device, or re-creates it when a parameter
// that cannot change in place differs, then sets MTU, MAC and up.
func (k *kernel) ensureVXLANDevice(link netlink.Link, v *VXLAN) (netlink.Link, error) {
	name := k.cfg.VXLANDevice
	parent := k.deviceWithAddr(v.Local)
	if vx, ok := link.(*netlink.Vxlan); link != nil && (!ok || !vxlanMatches(vx, v, parent)) {
		k.log.Info("Re-creating VXLAN device with new parameters", "device", name, "vni", v.VNI, "port", v.Port)
		if err := k.nl.LinkDel(link); err != nil {
			return nil, fmt.Errorf("delete for re-creation: %w", err)
		}
		link = nil
	}
	if link == nil {
		vx := &netlink.Vxlan{
			LinkAttrs: netlink.LinkAttrs{Name: name, MTU: v.MTU, HardwareAddr: v.MAC},
			VxlanId:   v.VNI, Port: v.Port, SrcAddr: v.Local.AsSlice(), VtepDevIndex: parent, Learning: false,
		}
		if err := k.nl.LinkAdd(vx); err != nil {
			return nil, fmt.Errorf("create (VNI %d, port %d, local %s): %w", v.VNI, v.Port, v.Local, err)
		}
		k.log.Info("Created VXLAN device", "device", name, "vni", v.VNI, "port", v.Port, "local", v.Local)
		var err error
		if link, err = k.nl.LinkByName(name); err != nil {
			return nil, err
		}
	}
	a := link.Attrs()
	if a.MTU != v.MTU {
		if err := k.nl.LinkSetMTU(link, v.MTU); err != nil {
			return nil, fmt.Errorf("set MTU %d: %w", v.MTU, err)
		}
	}
	if len(v.MAC) > 0 && !bytes.Equal(a.HardwareAddr, v.MAC) {
		if err := k.nl.LinkSetHardwareAddr(link, v.MAC); err != nil {
			return nil, fmt.Errorf("set MAC %s: %w", v.MAC, err)
		}
	}
	if a.Flags&net.FlagUp == 0 {
		if err := k.nl.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("set up: %w", err)
		}
	}
	return link, nil
}

func vxlanMatches(vx *netlink.Vxlan, v *VXLAN, parent int) bool {
	return vx.VxlanId == v.VNI && vx.Port == v.Port && addrOf(vx.SrcAddr) == v.Local && !vx.Learning &&
		(parent == 0 || vx.VtepDevIndex == parent)
}

// deviceWithAddr returns the index of the interface holding addr, or 0.
func (k *kernel) deviceWithAddr(addr netip.Addr) int {
	addrs, err := k.nl.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return 0
	}
	for _, a := range addrs {
		if addrOf(a.IP) == addr {
			return a.LinkIndex
		}
	}
	return 0
}

// ensureOnlyAddr gives link exactly addr/32 (/128) among its addresses of
// that family; link-local IPv6 addresses are left alone.
func (k *kernel) ensureOnlyAddr(link netlink.Link, addr netip.Addr) error {
	if !addr.IsValid() {
		return nil
	}
	fam := netlink.FAMILY_V4
	if addr.Is6() {
		fam = netlink.FAMILY_V6
	}
	have, err := k.nl.AddrList(link, fam)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", link.Attrs().Name, err)
	}
	found := false
	for _, a := range have {
		got := addrOf(a.IP)
		ones, _ := a.Mask.Size()
		switch {
		case got == addr && ones == addr.BitLen():
			found = true
		case got.IsLinkLocalUnicast():
		default:
			if err := k.nl.AddrDel(link, &a); err != nil {
				return fmt.Errorf("remove address %s from %s: %w", got, link.Attrs().Name, err)
			}
		}
	}
	if found {
		return nil
	}
	a := &netlink.Addr{IPNet: prefixToIPNet(netip.PrefixFrom(addr, addr.BitLen()))}
	if err := k.nl.AddrAdd(link, a); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add address %s to %s: %w", addr, link.Attrs().Name, err)
	}
	return nil
}

// syncFDB gives the device one permanent FDB entry per VTEP: its MAC goes
// to its underlay address.
func (k *kernel) syncFDB(idx int, vteps []VTEP) error {
	have, err := retryDump("FDB", func() ([]netlink.Neigh, error) { return k.nl.NeighList(idx, unix.AF_BRIDGE) })
	if err != nil {
		return err
	}
	want := map[string]netip.Addr{}
	for _, v := range vteps {
		want[v.MAC.String()] = v.IP
	}
	var errs []error
	ok := map[string]bool{}
	for _, n := range have {
		if n.Flags&netlink.NTF_SELF == 0 || len(n.HardwareAddr) == 0 {
			continue
		}
		mac := n.HardwareAddr.String()
		if ip, w := want[mac]; w && ip == addrOf(n.IP) && !ok[mac] {
			ok[mac] = true
			continue
		}
		if err := k.nl.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("delete FDB entry %s: %w", mac, err))
		}
	}
	for _, v := range vteps {
		if ok[v.MAC.String()] {
			continue
		}
		n := &netlink.Neigh{LinkIndex: idx, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT,
			Flags: netlink.NTF_SELF, IP: v.IP.AsSlice(), HardwareAddr: v.MAC}
		if err := k.nl.NeighAppend(n); err != nil && !errors.Is(err, unix.EEXIST) {
			errs = append(errs, fmt.Errorf("add FDB entry for %s: %w", v, err))
		}
	}
	return errors.Join(errs...)
}

// syncARP gives the device one permanent ARP entry per VTEP (its tunnel
// address to its MAC) and removes other permanent entries.
func (k *kernel) syncARP(idx int, vteps []VTEP) error {
	have, err := retryDump("neighbours", func() ([]netlink.Neigh, error) { return k.nl.NeighList(idx, unix.AF_INET) })
	if err != nil {
		return err
	}
	want := map[netip.Addr]net.HardwareAddr{}
	for _, v := range vteps {
		if v.Addr.Is4() {
			want[v.Addr] = v.MAC
		}
	}
	var errs []error
	ok := map[netip.Addr]bool{}
	for _, n := range have {
		if n.State&netlink.NUD_PERMANENT == 0 {
			continue
		}
		ip := addrOf(n.IP)
		if mac, w := want[ip]; w && bytes.Equal(mac, n.HardwareAddr) {
			ok[ip] = true
			continue
		}
		if err := k.nl.NeighDel(&n); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("delete neighbour %s: %w", ip, err))
		}
	}
	for ip, mac := range want {
		if ok[ip] {
			continue
		}
		n := &netlink.Neigh{LinkIndex: idx, Family: unix.AF_INET, State: netlink.NUD_PERMANENT,
			Type: unix.RTN_UNICAST, IP: ip.AsSlice(), HardwareAddr: mac}
		if err := k.nl.NeighSet(n); err != nil {
			errs = append(errs, fmt.Errorf("add neighbour %s %s: %w", ip, mac, err))
		}
	}
	return errors.Join(errs...)
}
