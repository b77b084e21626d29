package dataplane

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// kernel is Run's handle on the namespace. Only Run's goroutine uses it.
type kernel struct {
	cfg        Config
	log        *slog.Logger
	ns         *ns.NS
	nl         *netlink.Handle
	ipipOK     bool
	ipipReason string
	ipipProbed bool
}

func openKernel(cfg Config, log *slog.Logger) (*kernel, error) {
	n, err := ns.Open(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	h, err := n.NetlinkHandle()
	if err != nil {
		n.Close()
		return nil, err
	}
	return &kernel{cfg: cfg, log: log, ns: n, nl: h}, nil
}

func (k *kernel) close() {
	k.nl.Close()
	k.ns.Close()
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

// watchRoutes calls kick whenever a route of our protocol is deleted, so
// the next apply puts it back. It stops when done is closed.
func (k *kernel) watchRoutes(done <-chan struct{}, kick func()) {
	ch := make(chan netlink.RouteUpdate, 64)
	err := netlink.RouteSubscribeWithOptions(ch, done, netlink.RouteSubscribeOptions{
		Namespace:     k.ns.Handle(),
		ErrorCallback: func(err error) { k.log.Debug("Route watch error", "err", err) },
	})
	if err != nil {
		k.log.Warn("Cannot watch routes; relying on the periodic resync", "err", err)
		return
	}
	go func() {
		for u := range ch {
			if u.Type == unix.RTM_DELROUTE && int(u.Protocol) == k.cfg.RouteProtocol {
				kick()
			}
		}
	}()
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
