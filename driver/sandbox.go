package driver

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/datastore"
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
	peers, err := d.sandboxPeers(ctx, key, endpointID)
	if err != nil {
		return sandboxInfo{}, err
	}
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

// sandboxPeers lists this node's endpoints, other than endpointID, that
// joined the sandbox key.
func (d *Driver) sandboxPeers(ctx context.Context, key, endpointID string) ([]*resources.WorkloadEndpoint, error) {
	if key == "" {
		return nil, nil
	}
	weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, d.store, resources.DefaultNamespace)
	if err != nil {
		return nil, fmt.Errorf("list endpoints of sandbox %s: %w", key, err)
	}
	var peers []*resources.WorkloadEndpoint
	for _, w := range weps {
		if w.Spec.Node == d.node && w.Spec.Endpoint != endpointID && w.Annotations[AnnotationSandbox] == key {
			peers = append(peers, w)
		}
	}
	return peers, nil
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
