package routes

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// kernel is a Manager's handle on the namespace and its memory of the
// IPIP probe.
type kernel struct {
	cfg        Config
	log        *slog.Logger
	nl         *netlink.Handle
	ipipOK     bool
	ipipReason string
	ipipProbed bool
}

// applyResult is what one apply achieved.
type applyResult struct {
	routes    int
	conflicts []string
	err       error
}

// apply converges devices, then neighbours, then routes (routes need the
// devices they point at). Every step runs; errors are joined.
func (k *kernel) apply(d Desired) applyResult {
	var errs []error
	errs = append(errs, k.syncVXLAN(d.VXLAN, d.VTEPs))
	errs = append(errs, k.syncIPIP(d.IPIP))
	routes, conflicts, err := k.syncRoutes(d.Routes, d.KeepStale)
	errs = append(errs, err)
	return applyResult{routes: routes, conflicts: conflicts, err: errors.Join(errs...)}
}

// retryDump repeats a netlink dump interrupted by a concurrent change.
func retryDump[T any](what string, list func() (T, error)) (T, error) {
	var res T
	var err error
	for range 5 {
		if res, err = list(); err == nil {
			return res, nil
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) && !errors.Is(err, unix.EINTR) {
			break
		}
	}
	var zero T
	return zero, fmt.Errorf("list %s: %w", what, err)
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func ipNetToPrefix(n *net.IPNet) netip.Prefix {
	addr, _ := netip.AddrFromSlice(n.IP)
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(addr.Unmap(), ones).Masked()
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}
