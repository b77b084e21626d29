package ipamdriver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
	dipam "github.com/docker/go-plugins-helpers/ipam"
)

// Driver serves Docker's IPAM requests from an ipam.Allocator and the
// IPPools in the datastore. It is safe for concurrent use.
type Driver struct {
	alloc   *ipam.Allocator
	store   *datastore.Store
	ipv6Off bool // the node does not program IPv6: refuse IPv6 networks
}

// RefuseIPv6 makes the driver refuse IPv6 pools and addresses, naming the
// setting to change: on a node whose dataplane does not program IPv6,
// containers would get IPv6 addresses that silently go nowhere.
func (d *Driver) RefuseIPv6() *Driver {
	d.ipv6Off = true
	return d
}

// errIPv6Off explains why an IPv6 request is refused.
var errIPv6Off = errors.New("IPv6 is off on this node, so IPv6 addresses would not be routed: set ipv6: true in the calico daemon's config (CALICO_IPV6=true or --ipv6) on every host and restart it, or create the network without --ipv6")

// New returns a Driver allocating for alloc's node.
func New(alloc *ipam.Allocator, store *datastore.Store) *Driver {
	return &Driver{alloc: alloc, store: store}
}

// Capabilities answers GetCapabilities: no MAC address needed (Calico
// allocates before the endpoint exists).
func (d *Driver) Capabilities() *dipam.CapabilitiesResponse {
	return &dipam.CapabilitiesResponse{RequiresMACAddress: false}
}

// AddressSpaces answers GetDefaultAddressSpaces.
func (d *Driver) AddressSpaces() *dipam.AddressSpacesResponse {
	return &dipam.AddressSpacesResponse{LocalDefaultAddressSpace: LocalAddressSpace, GlobalDefaultAddressSpace: GlobalAddressSpace}
}

// RequestPoolContext answers RequestPool (docker network create).
func (d *Driver) RequestPoolContext(ctx context.Context, req *dipam.RequestPoolRequest) (*dipam.RequestPoolResponse, error) {
	if err := checkPoolRequest(req); err != nil {
		return nil, err
	}
	if req.V6 && d.ipv6Off {
		return nil, errIPv6Off
	}
	var pools []*resources.IPPool
	err := bounded(ctx, "list IP pools", func(c context.Context) (err error) {
		pools, _, err = datastore.ListAs[*resources.IPPool](c, d.store, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	id := poolID{v6: req.V6}
	if req.Pool == "" {
		bound, err := d.boundSubnets(ctx, pools) // bound.go
		if err != nil {
			return nil, err
		}
		if _, err := freePools(pools, bound, req.V6); err != nil {
			return nil, err
		}
	} else {
		subnet, err := parseSubnet(req.Pool, req.V6)
		if err != nil {
			return nil, err
		}
		if err := d.ensureSubnetPool(ctx, pools, subnet); err != nil {
			return nil, err
		}
		id.subnet = subnet
	}
	pool := anyPrefix(req.V6)
	if id.subnet.IsValid() {
		pool = id.subnet.String()
	}
	return &dipam.RequestPoolResponse{PoolID: id.String(), Pool: pool, Data: map[string]string{GatewayKey: anyPrefix(req.V6)}}, nil
}

// checkPoolRequest refuses what calico-ipam does not do.
func checkPoolRequest(req *dipam.RequestPoolRequest) error {
	switch req.AddressSpace {
	case "", LocalAddressSpace, GlobalAddressSpace:
	default:
		return fmt.Errorf("unknown address space %q: calico-ipam serves %s and %s", req.AddressSpace, LocalAddressSpace, GlobalAddressSpace)
	}
	if req.SubPool != "" {
		return fmt.Errorf("--ip-range %s is not supported by calico-ipam: it allocates from whole IP pools; drop --ip-range, or create a pool for that range (calicoctl apply -f, kind IPPool) and pass it as --subnet", req.SubPool)
	}
	if len(req.Options) > 0 {
		return fmt.Errorf("unknown --ipam-opt %s: calico-ipam takes no IPAM options; remove them", optionKeys(req.Options))
	}
	return nil
}

func optionKeys(opts map[string]string) string {
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}

func familyName(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

// parseSubnet checks the --subnet Docker passed.
func parseSubnet(s string, v6 bool) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("--subnet %q is not a CIDR: give one such as 10.1.0.0/16", s)
	}
	if p != p.Masked() {
		return netip.Prefix{}, fmt.Errorf("--subnet %s has host bits set: use --subnet %s", s, p.Masked())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("--subnet %s is an IPv4-mapped IPv6 range, which calico-ipam cannot serve: use an IPv4 --subnet (without --ipv6) or a real IPv6 range such as fd00:10::/64", s)
	}
	if p.Addr().Is6() != v6 {
		return netip.Prefix{}, fmt.Errorf("--subnet %s is not an %s subnet, but Docker asked for an %s pool", s, familyName(v6), familyName(v6))
	}
	return p, nil
}

// ensureSubnetPool accepts a subnet equal to a pool, refuses one that
// overlaps a pool partially, and creates a pool for one in no pool.
func (d *Driver) ensureSubnetPool(ctx context.Context, pools []*resources.IPPool, subnet netip.Prefix) error {
	for _, p := range pools {
		c, err := resources.ParseCIDR(p.Spec.CIDR)
		if err != nil || !c.Overlaps(subnet) {
			continue
		}
		if c != subnet {
			return fmt.Errorf("--subnet %s overlaps IP pool %s (%s) without being equal to it: use --subnet %s to allocate from that pool, omit --subnet to use every pool, or choose a subnet outside all pools (calicoctl get ippools)", subnet, p.Name, c, c)
		}
		if p.Spec.Disabled {
			return fmt.Errorf("--subnet %s is IP pool %s, which is disabled: enable it (spec.disabled: false, calicoctl apply) or choose another subnet", subnet, p.Name)
		}
		return nil
	}
	return d.createSubnetPool(ctx, subnet)
}

// createSubnetPool creates the pool for a --subnet in no pool.
func (d *Driver) createSubnetPool(ctx context.Context, subnet netip.Prefix) error {
	p := resources.NewIPPool(subnetPoolName(subnet))
	p.Spec.CIDR = subnet.String()
	p.Spec.NATOutgoing = true
	p.Spec.BlockSize = resources.DefaultBlockSizeV4
	if subnet.Addr().Is6() {
		p.Spec.BlockSize = resources.DefaultBlockSizeV6
	}
	p.Spec.BlockSize = max(p.Spec.BlockSize, subnet.Bits())
	p.Annotations = map[string]string{CreatedByAnnotation: "calico-ipam RequestPool (docker network create --subnet)"}
	// One compare-and-swap with the overlap check: a pool created
	// meanwhile (another docker network create) is seen, not overlapped.
	_, err := d.alloc.CreatePool(ctx, p)
	if errors.Is(err, datastore.ErrAlreadyExists) {
		// Created concurrently (another host made the same network), or the
		// name is taken by a pool with another CIDR.
		var got *resources.IPPool
		gerr := bounded(ctx, "read IP pool "+p.Name, func(c context.Context) (err error) {
			got, err = datastore.GetAs[*resources.IPPool](c, d.store, "", p.Name)
			return err
		})
		if gerr == nil && got.Spec.CIDR == p.Spec.CIDR {
			return nil
		}
		return fmt.Errorf("cannot create IP pool %s for --subnet %s: a pool of that name already exists with another CIDR; rename or delete it (calicoctl)", p.Name, subnet)
	}
	if err != nil {
		return fmt.Errorf("create IP pool %s for --subnet %s: %w", p.Name, subnet, err)
	}
	slog.Info("ipamdriver: created an IP pool for a docker --subnet", "pool", p.Name, "cidr", subnet)
	return nil
}

// ReleasePoolContext answers ReleasePool (docker network rm, or a failed
// create): the pool calico-ipam created for a --subnet goes with the last
// network using it; other pools are the user's and stay.
func (d *Driver) ReleasePoolContext(ctx context.Context, req *dipam.ReleasePoolRequest) error {
	id, err := parsePoolID(req.PoolID)
	if err != nil || !id.subnet.IsValid() {
		return err
	}
	return d.releaseSubnetPool(ctx, id.subnet) // bound.go
}

// bounded runs one datastore call under ipam.DefaultCallTimeout; when etcd
// does not answer in time the error wraps ipam.ErrUnavailable.
func bounded(ctx context.Context, op string, fn func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, ipam.DefaultCallTimeout)
	defer cancel()
	err := fn(cctx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil && (cctx.Err() != nil || datastore.Unreachable(err)) {
		return fmt.Errorf("%s: no answer within %v: %w (%w)", op, ipam.DefaultCallTimeout, ipam.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}
