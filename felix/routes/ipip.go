package routes

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// ProbeIPIP reports whether the kernel of the namespace at path ("" for
// the process's own) supports IPIP tunnels, and if not, why. It creates
// nothing that stays.
func ProbeIPIP(path string) (bool, string) {
	n, err := ns.Open(path)
	if err != nil {
		return false, err.Error()
	}
	defer n.Close()
	h, err := n.NetlinkHandle()
	if err != nil {
		return false, err.Error()
	}
	defer h.Close()
	return probeIPIP(h)
}

func probeIPIP(h *netlink.Handle) (bool, string) {
	if _, err := h.LinkByName(IPIPDevice); err == nil {
		return true, ""
	}
	probe := &netlink.Iptun{LinkAttrs: netlink.LinkAttrs{Name: "calipipprobe0"}}
	if err := h.LinkAdd(probe); err != nil {
		return false, fmt.Sprintf("the kernel has no IPIP support (creating an ipip device failed: %v); "+
			"build it with CONFIG_NET_IPIP or load the ipip module, or use VXLAN (vxlanMode) instead", err)
	}
	if l, err := h.LinkByName("calipipprobe0"); err == nil {
		_ = h.LinkDel(l)
	}
	return true, ""
}

// syncIPIP configures tunl0 (address, MTU, up) when i is set. Without
// kernel support it fails with the reason.
func (k *kernel) syncIPIP(i *IPIP) error {
	if i == nil {
		return nil
	}
	if !k.ipipProbed {
		k.ipipOK, k.ipipReason = probeIPIP(k.nl)
		k.ipipProbed = true
		if !k.ipipOK {
			k.log.Error("IPIP is configured but unavailable", "reason", k.ipipReason)
		}
	}
	if !k.ipipOK {
		return errors.New(k.ipipReason)
	}
	link, err := k.nl.LinkByName(IPIPDevice)
	if err != nil {
		if err := k.nl.LinkAdd(&netlink.Iptun{LinkAttrs: netlink.LinkAttrs{Name: IPIPDevice}}); err != nil {
			return fmt.Errorf("create %s: %w", IPIPDevice, err)
		}
		if link, err = k.nl.LinkByName(IPIPDevice); err != nil {
			return err
		}
	}
	if link.Attrs().MTU != i.MTU {
		if err := k.nl.LinkSetMTU(link, i.MTU); err != nil {
			return fmt.Errorf("set %s MTU %d: %w", IPIPDevice, i.MTU, err)
		}
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := k.nl.LinkSetUp(link); err != nil {
			return fmt.Errorf("set %s up: %w", IPIPDevice, err)
		}
	}
	return k.ensureOnlyAddr(link, i.Addr)
}

// ProbeIPIPWith is ProbeIPIP through an open handle on the namespace.
func ProbeIPIPWith(h *netlink.Handle) (bool, string) { return probeIPIP(h) }
