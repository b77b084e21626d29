package ipamdriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Pools bound to a --subnet network.
//
// A network created with --subnet owns the pool of that CIDR: a network
// without --subnet draws only from the other pools (the default pool and
// pools the user created), as Docker users expect; otherwise its
// containers would take addresses inside another network's subnet, which
// breaks a container on both (its route to that subnet points at the
// other network's interface). A pool is bound while a Docker network's
// record (kept by the calico network driver) names its CIDR, or while it
// is a pool calico-ipam created for a --subnet. Such a created pool is
// removed at ReleasePool of its last network, once it holds no address.

// networkRecordPrefix is where the calico network driver keeps one record
// per Docker network (driver.NetworkKeyPrefix; a test keeps them in step).
const networkRecordPrefix = datastore.LibnetworkPrefix + "networks/"

// networkPools is the part of a network record calico-ipam reads.
type networkPools struct {
	IPv4Pools []string `json:"ipv4Pools"`
	IPv6Pools []string `json:"ipv6Pools"`
}

// boundSubnets returns the CIDRs of pools bound to a --subnet network.
func (d *Driver) boundSubnets(ctx context.Context, pools []*resources.IPPool) (map[netip.Prefix]bool, error) {
	var kvs []datastore.KV
	err := bounded(ctx, "list Docker network records", func(c context.Context) (err error) {
		kvs, _, err = d.store.ListKeys(c, networkRecordPrefix, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := map[netip.Prefix]bool{}
	for _, kv := range kvs {
		var n networkPools
		if json.Unmarshal(kv.Value, &n) != nil {
			continue
		}
		for _, s := range append(n.IPv4Pools, n.IPv6Pools...) {
			if p, err := netip.ParsePrefix(s); err == nil && p.Bits() > 0 {
				out[p.Masked()] = true
			}
		}
	}
	for _, p := range pools {
		if c, err := resources.ParseCIDR(p.Spec.CIDR); err == nil && p.Annotations[CreatedByAnnotation] != "" {
			out[c] = true
		}
	}
	return out, nil
}

// freePools lists the CIDRs a subnet-less network of the family may use:
// enabled pools not bound to a --subnet network. It fails saying what to
// do when there is none.
func freePools(pools []*resources.IPPool, bound map[netip.Prefix]bool, v6 bool) ([]netip.Prefix, error) {
	var out, taken []netip.Prefix
	for _, p := range pools {
		c, err := resources.ParseCIDR(p.Spec.CIDR)
		if err != nil || c.Addr().Is6() != v6 || p.Spec.Disabled {
			continue
		}
		if bound[c] {
			taken = append(taken, c)
			continue
		}
		out = append(out, c)
	}
	if len(out) > 0 {
		return out, nil
	}
	example := map[bool]string{false: "10.10.0.0/16", true: "fd00:10::/64"}[v6]
	if len(taken) > 0 {
		return nil, fmt.Errorf("every enabled %s IP pool (%v) belongs to a network created with --subnet, and a network without --subnet does not take addresses from those: create a pool for it (calicoctl apply -f with kind IPPool, spec.cidr %s), or give this network its own --subnet", familyName(v6), taken, example)
	}
	return nil, fmt.Errorf("no enabled %s IP pool exists: create one first (calicoctl apply -f with kind IPPool, spec.cidr %s), or pass --subnet to create one", familyName(v6), example)
}

// boundPools reads the pools a subnet-less network's address may not come
// from; it fails saying what to do when no other pool is left.
func (d *Driver) boundPools(ctx context.Context, v6 bool) ([]netip.Prefix, error) {
	var pools []*resources.IPPool
	err := bounded(ctx, "list IP pools", func(c context.Context) (err error) {
		pools, _, err = datastore.ListAs[*resources.IPPool](c, d.store, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	bound, err := d.boundSubnets(ctx, pools)
	if err != nil {
		return nil, err
	}
	if _, err := freePools(pools, bound, v6); err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(bound))
	for p := range bound {
		out = append(out, p)
	}
	return out, nil
}

// releaseSubnetPool removes the pool calico-ipam created for subnet once
// no Docker network names it any more and it holds no address.
func (d *Driver) releaseSubnetPool(ctx context.Context, subnet netip.Prefix) error {
	name := subnetPoolName(subnet)
	var p *resources.IPPool
	err := bounded(ctx, "read IP pool "+name, func(c context.Context) (err error) {
		p, err = datastore.GetAs[*resources.IPPool](c, d.store, "", name)
		return err
	})
	if errors.Is(err, datastore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.Annotations[CreatedByAnnotation] == "" || p.Spec.CIDR != subnet.String() {
		return nil // the user's pool: theirs to remove
	}
	bound, err := d.boundSubnets(ctx, nil)
	if err != nil {
		return err
	}
	if bound[subnet] {
		return nil // another network still uses it
	}
	_, err = d.alloc.DeletePool(ctx, name, p.ResourceVersion)
	var inUse *ipam.PoolInUseError
	switch {
	case errors.As(err, &inUse):
		slog.Warn("ipamdriver: keeping the pool of a removed --subnet network: it still holds addresses", "pool", name, "inUse", inUse.InUse)
		return nil
	case errors.Is(err, datastore.ErrNotFound), errors.Is(err, datastore.ErrConflict):
		return nil // removed, or changed, meanwhile
	case err != nil:
		return fmt.Errorf("remove IP pool %s of the removed --subnet network: %w", name, err)
	}
	slog.Info("ipamdriver: removed the IP pool of the last network using it", "pool", name, "cidr", subnet)
	return nil
}
