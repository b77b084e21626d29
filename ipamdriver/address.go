package ipamdriver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/calico-docker/calico-libnetwork/ipam"
	dipam "github.com/docker/go-plugins-helpers/ipam"
)

// RequestAddressContext answers RequestAddress (an endpoint's address, an
// --aux-address, or the network's gateway).
func (d *Driver) RequestAddressContext(ctx context.Context, req *dipam.RequestAddressRequest) (*dipam.RequestAddressResponse, error) {
	id, err := parsePoolID(req.PoolID)
	if err != nil {
		return nil, err
	}
	gateway, err := checkAddressOptions(req.Options)
	if err != nil {
		return nil, err
	}
	if id.v6 && d.ipv6Off && !gateway {
		return nil, errIPv6Off
	}
	var want netip.Addr
	if req.Address != "" {
		if want, err = parseAddress(req.Address, id); err != nil {
			return nil, err
		}
	}
	if gateway {
		if want.IsValid() {
			return nil, fmt.Errorf("--gateway %s is not supported by calico-ipam: containers route via 169.254.1.1 and the network needs no gateway address; remove --gateway", want)
		}
		return &dipam.RequestAddressResponse{Address: anyPrefix(id.v6)}, nil
	}
	handle, err := provisionalHandle()
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{ipam.AttrNode: d.alloc.Node(), AttrRequestedAt: time.Now().UTC().Format(time.RFC3339), AttrPoolID: id.String()}
	if want.IsValid() {
		if err := d.alloc.AssignIP(ctx, want, handle, attrs); err != nil {
			return nil, err
		}
		return &dipam.RequestAddressResponse{Address: hostPrefix(want)}, nil
	}
	args := ipam.AutoAssignArgs{Handle: handle, Attrs: attrs}
	if id.subnet.IsValid() {
		args.Pools = []netip.Prefix{id.subnet}
	} else if args.Exclude, err = d.boundPools(ctx, id.v6); err != nil { // bound.go
		return nil, err
	}
	if id.v6 {
		args.Num6 = 1
	} else {
		args.Num4 = 1
	}
	v4, v6, err := d.alloc.AutoAssign(ctx, args)
	if err != nil {
		return nil, err
	}
	got := append(v4, v6...)
	if len(got) != 1 {
		return nil, fmt.Errorf("internal error: asked for one address, got %v", got)
	}
	return &dipam.RequestAddressResponse{Address: hostPrefix(got[0])}, nil
}

// checkAddressOptions refuses options calico-ipam does not know and
// reports whether this is Docker's gateway request.
func checkAddressOptions(opts map[string]string) (gateway bool, err error) {
	var unknown map[string]string
	for k, v := range opts {
		switch {
		case k == RequestAddressTypeKey && v == GatewayKey:
			gateway = true
		case k == RequestAddressTypeKey:
			return false, fmt.Errorf("unsupported %s %q: calico-ipam only knows %q", RequestAddressTypeKey, v, GatewayKey)
		case k == MACAddressKey:
			// Informational; calico-ipam does not allocate by MAC.
		default:
			if unknown == nil {
				unknown = map[string]string{}
			}
			unknown[k] = v
		}
	}
	if unknown != nil {
		return false, fmt.Errorf("unknown address options %s: calico-ipam takes none; remove them", optionKeys(unknown))
	}
	return gateway, nil
}

// parseAddress checks a requested address against the network's pool id.
func parseAddress(s string, id poolID) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("address %q is not an IP address: give one such as 10.1.7.7", s)
	}
	a = a.Unmap()
	if a.Is6() != id.v6 {
		return netip.Addr{}, fmt.Errorf("address %s is not an %s address, but the pool %s is", a, familyName(id.v6), id)
	}
	if id.subnet.IsValid() && !id.subnet.Contains(a) {
		return netip.Addr{}, fmt.Errorf("address %s is outside the network's subnet %s: choose an address inside it", a, id.subnet)
	}
	return a, nil
}

// provisionalHandle names an address until the network driver re-owns it.
func provisionalHandle() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random handle: %w", err)
	}
	return HandlePrefix + hex.EncodeToString(b[:]), nil
}

// ReleaseAddressContext answers ReleaseAddress.
func (d *Driver) ReleaseAddressContext(ctx context.Context, req *dipam.ReleaseAddressRequest) error {
	id, err := parsePoolID(req.PoolID)
	if err != nil {
		return err
	}
	if a, err := netip.ParseAddr(req.Address); err == nil && a.IsUnspecified() && a.Is6() == id.v6 {
		return nil // the dummy gateway RequestPool handed out
	}
	a, err := parseAddress(req.Address, id)
	if err != nil {
		return err
	}
	notAllocated, queued, err := d.alloc.ReleaseIPsDurably(ctx, a)
	switch {
	case err != nil:
		return fmt.Errorf("release %s: %w", a, err)
	case queued:
		slog.Warn("ipamdriver: etcd does not answer; the release is recorded and applied when it does", "ip", a)
	case len(notAllocated) > 0:
		// Already free: a repeated release (its first answer lost) succeeds.
		slog.Info("ipamdriver: released an address that was already free", "ip", a)
	}
	return nil
}
