package driver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// sandboxInfo is what a Join needs to know about the sandbox it joins.
type sandboxInfo struct {
	// routes holds the destinations already routed in the sandbox, or
	// claimed by calico endpoints that joined it before.
	routes map[netip.Prefix]bool
	// peers are the other calico endpoints of this node joined to it.
	peers []*resources.WorkloadEndpoint
}

// sandboxState combines two views of a sandbox: its kernel routes (when
// its namespace exists: a container that is already running) and the
// calico endpoints recorded as joined to it (the only view before a
// container starts, when Docker joins every endpoint before it creates
// the namespace).
func (d *Driver) sandboxState(ctx context.Context, key, endpointID string) (sandboxInfo, error) {
	routes, err := sandboxRoutes(key)
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.log.Debug("Sandbox not created yet", "sandbox", key)
	case err != nil:
		d.log.Warn("Cannot read the sandbox's routes; going by the recorded endpoints", "sandbox", key, "err", err)
	}
	peers := d.sandboxPeers(key, endpointID)
	for _, p := range peers {
		for _, gw := range []string{p.Spec.IPv4Gateway, p.Spec.IPv6Gateway} {
			if a, err := netip.ParseAddr(gw); err == nil {
				routes[netip.PrefixFrom(a, a.BitLen())] = true
			}
		}
		for _, s := range d.subnetsOf(ctx, p.Spec.Network) {
			routes[s] = true
		}
	}
	return sandboxInfo{routes: routes, peers: peers}, nil
}

// sandboxPeers returns this node's endpoints, other than endpointID,
// joined to the sandbox key: those the cache of the datastore holds, and
// those this Driver joined (which the cache may not have caught up with).
// It reads no etcd: the answer costs O(endpoints of the sandbox).
func (d *Driver) sandboxPeers(key, endpointID string) []*resources.WorkloadEndpoint {
	if key == "" {
		return nil
	}
	byName := map[string]*resources.WorkloadEndpoint{}
	if d.endpoints != nil {
		for _, w := range d.endpoints.EndpointsOfSandbox(key) {
			if w.Spec.Node == d.node && w.Annotations[AnnotationSandbox] == key {
				byName[w.Name] = w
			}
		}
	}
	for _, w := range d.local.inSandbox(key) {
		byName[w.Name] = w // this Driver's own write is the newest
	}
	peers := make([]*resources.WorkloadEndpoint, 0, len(byName))
	for _, w := range byName {
		if w.Spec.Endpoint != endpointID {
			peers = append(peers, w)
		}
	}
	slices.SortFunc(peers, func(a, b *resources.WorkloadEndpoint) int { return strings.Compare(a.Name, b.Name) })
	return peers
}

// sandboxRoutes returns the destinations routed in the main table of the
// network namespace at path (a Join's SandboxKey). The default route is
// left out. It reads only: Docker owns the sandbox.
func sandboxRoutes(path string) (map[netip.Prefix]bool, error) {
	have := map[netip.Prefix]bool{}
	if path == "" {
		return have, errors.New("no sandbox key in the request")
	}
	n, err := ns.Open(path)
	if err != nil {
		return have, err
	}
	defer n.Close()
	h, err := n.NetlinkHandle()
	if err != nil {
		return have, fmt.Errorf("netlink in sandbox %s: %w", path, err)
	}
	defer h.Close()
	var routes []netlink.Route
	for range 5 {
		routes, err = h.RouteList(nil, netlink.FAMILY_ALL)
		if err == nil || !errors.Is(err, netlink.ErrDumpInterrupted) && !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return have, fmt.Errorf("list routes in sandbox %s: %w", path, err)
	}
	for _, r := range routes {
		if r.Dst == nil {
			continue
		}
		a, ok := netip.AddrFromSlice(r.Dst.IP)
		ones, _ := r.Dst.Mask.Size()
		if ok && ones > 0 {
			have[netip.PrefixFrom(a.Unmap(), ones).Masked()] = true
		}
	}
	return have, nil
}
