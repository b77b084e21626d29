package felix

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// HostSideMAC is the MAC address of the host end of every workload veth, as
// in Calico: workloads only ever talk to it (the host answers ARP for the
// gateway by proxy ARP), so one well-known value suits every veth, and its
// EUI-64 link-local address is the IPv6 gateway (IPv6Gateway).
var HostSideMAC = net.HardwareAddr{0xee, 0xee, 0xee, 0xee, 0xee, 0xee}

// maxIfaceName is the kernel's limit on interface names (IFNAMSIZ - 1).
const maxIfaceName = 15

// linkOps is the part of *netlink.Handle veth management uses. Tests wrap
// the real handle to inject failures the kernel will not give on demand.
type linkOps interface {
	LinkByName(name string) (netlink.Link, error)
	LinkByIndex(index int) (netlink.Link, error)
	LinkAdd(link netlink.Link) error
	LinkDel(link netlink.Link) error
	LinkSetUp(link netlink.Link) error
	LinkSetMTU(link netlink.Link, mtu int) error
	LinkSetHardwareAddr(link netlink.Link, hwaddr net.HardwareAddr) error
}

var _ linkOps = (*netlink.Handle)(nil)

// Veths creates and deletes workload veth pairs in one network namespace.
type Veths struct {
	nl     linkOps
	handle *netlink.Handle // nil when nl was injected
}

// NewVeths returns a Veths working in the namespace at netnsPath ("" for the
// calling process's own). Close it when done.
func NewVeths(netnsPath string) (*Veths, error) {
	n, err := ns.Open(netnsPath)
	if err != nil {
		return nil, err
	}
	defer n.Close() // the handle's sockets stay in the namespace
	h, err := n.NetlinkHandle()
	if err != nil {
		return nil, err
	}
	return &Veths{nl: h, handle: h}, nil
}

// Close releases the netlink sockets.
func (v *Veths) Close() {
	if v.handle != nil {
		v.handle.Close()
	}
}

// CreateVeth creates a veth pair in the host namespace (see Veths.CreateVeth).
func CreateVeth(hostIface, tmpContainerIface string, containerMAC net.HardwareAddr, mtu int) error {
	v, err := NewVeths("")
	if err != nil {
		return err
	}
	defer v.Close()
	return v.CreateVeth(hostIface, tmpContainerIface, containerMAC, mtu)
}

// DeleteVeth deletes a veth pair in the host namespace (see Veths.DeleteVeth).
func DeleteVeth(hostIface string) error {
	v, err := NewVeths("")
	if err != nil {
		return err
	}
	defer v.Close()
	return v.DeleteVeth(hostIface)
}

// CreateVeth creates the pair hostIface <-> tmpContainerIface: the host end
// gets HostSideMAC and is brought up, the container end gets containerMAC
// (the caller moves it into the container and renames it), both get mtu
// (0: kernel default).
//
// It is idempotent: an existing pair with these names is reused and its
// settings fixed. A veth named hostIface whose peer is elsewhere (a leftover
// of an earlier attempt) is replaced. Any other kind of link named hostIface
// is an error and is left alone. If setup fails after the pair was created,
// the pair is deleted again.
func (v *Veths) CreateVeth(hostIface, tmpContainerIface string, containerMAC net.HardwareAddr, mtu int) (err error) {
	if err := validateVethArgs(hostIface, tmpContainerIface, containerMAC, mtu); err != nil {
		return err
	}
	existing, err := v.nl.LinkByName(hostIface)
	switch {
	case err == nil:
		if peer := v.localPeer(existing, tmpContainerIface); peer != nil {
			return v.fixVeth(existing, peer, containerMAC, mtu)
		}
		if existing.Type() != "veth" {
			return fmt.Errorf("create veth %s: an interface of type %s already has that name; "+
				"remove it (ip link del %s) or choose another name", hostIface, existing.Type(), hostIface)
		}
		slog.Info("Replacing stale veth", "iface", hostIface)
		if err := v.nl.LinkDel(existing); err != nil {
			return fmt.Errorf("replace stale veth %s: %w", hostIface, err)
		}
	case !isLinkNotFound(err):
		return fmt.Errorf("create veth %s: look up: %w", hostIface, err)
	}
	return v.addVeth(hostIface, tmpContainerIface, containerMAC, mtu)
}

// addVeth creates a new pair and brings the host end up, deleting the pair
// again if that fails.
func (v *Veths) addVeth(hostIface, peerName string, containerMAC net.HardwareAddr, mtu int) (err error) {
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU, la.HardwareAddr = hostIface, mtu, HostSideMAC
	veth := &netlink.Veth{LinkAttrs: la, PeerName: peerName, PeerHardwareAddr: containerMAC, PeerMTU: uint32(mtu)}
	if err := v.nl.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s (peer %s): %w", hostIface, peerName, err)
	}
	defer func() {
		if err == nil {
			return
		}
		if derr := v.nl.LinkDel(veth); derr != nil && !isLinkNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("roll back veth %s: %w", hostIface, derr))
		}
	}()
	if err := v.nl.LinkSetUp(veth); err != nil {
		return fmt.Errorf("set veth %s up: %w", hostIface, err)
	}
	return nil
}

// localPeer returns the peer of link if link is a veth whose peer lives in
// the same namespace under the name peerName, else nil.
func (v *Veths) localPeer(link netlink.Link, peerName string) netlink.Link {
	if link.Type() != "veth" || link.Attrs().NetNsID >= 0 || link.Attrs().ParentIndex == 0 {
		return nil // not a veth, or its peer is in another namespace
	}
	peer, err := v.nl.LinkByIndex(link.Attrs().ParentIndex)
	if err != nil || peer.Attrs().Name != peerName || peer.Type() != "veth" {
		return nil
	}
	return peer
}

// fixVeth corrects the MACs, MTUs and host-side state of an existing pair.
func (v *Veths) fixVeth(host, peer netlink.Link, containerMAC net.HardwareAddr, mtu int) error {
	fix := func(link netlink.Link, mac net.HardwareAddr) error {
		a := link.Attrs()
		if !bytes.Equal(a.HardwareAddr, mac) {
			if err := v.nl.LinkSetHardwareAddr(link, mac); err != nil {
				return fmt.Errorf("set MAC of %s: %w", a.Name, err)
			}
		}
		if mtu != 0 && a.MTU != mtu {
			if err := v.nl.LinkSetMTU(link, mtu); err != nil {
				return fmt.Errorf("set MTU of %s: %w", a.Name, err)
			}
		}
		return nil
	}
	if err := fix(peer, containerMAC); err != nil {
		return err
	}
	if err := fix(host, HostSideMAC); err != nil {
		return err
	}
	if host.Attrs().Flags&net.FlagUp == 0 {
		if err := v.nl.LinkSetUp(host); err != nil {
			return fmt.Errorf("set veth %s up: %w", host.Attrs().Name, err)
		}
	}
	return nil
}

// DeleteVeth deletes the pair whose host end is hostIface. A missing
// interface is not an error; an interface that is not a veth is refused.
func (v *Veths) DeleteVeth(hostIface string) error {
	link, err := v.nl.LinkByName(hostIface)
	if isLinkNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete veth %s: look up: %w", hostIface, err)
	}
	if link.Type() != "veth" {
		return fmt.Errorf("delete veth %s: interface is a %s, not a veth; not deleting it", hostIface, link.Type())
	}
	if err := v.nl.LinkDel(link); err != nil && !isLinkNotFound(err) {
		return fmt.Errorf("delete veth %s: %w", hostIface, err)
	}
	return nil
}

func validateVethArgs(hostIface, peer string, mac net.HardwareAddr, mtu int) error {
	for _, name := range []string{hostIface, peer} {
		if name == "" || len(name) > maxIfaceName {
			return fmt.Errorf("create veth: interface name %q must have 1 to %d characters", name, maxIfaceName)
		}
	}
	if hostIface == peer {
		return fmt.Errorf("create veth %s: host and container names must differ", hostIface)
	}
	if len(mac) != 6 {
		return fmt.Errorf("create veth %s: container MAC %q is not a 6-byte Ethernet address", hostIface, mac)
	}
	if mtu != 0 && (mtu < 68 || mtu > 65535) {
		return fmt.Errorf("create veth %s: MTU %d out of range 68-65535", hostIface, mtu)
	}
	return nil
}

func isLinkNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}
