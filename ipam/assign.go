package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// blockOf finds the existing block containing ip: from the cache, else by
// listing the family's block keys. found is false when no block holds it.
func (a *Allocator) blockOf(ctx context.Context, ip netip.Addr) (netip.Prefix, bool, error) {
	for cidr := range a.cache {
		if cidr.Contains(ip) {
			return cidr, true, nil
		}
	}
	blocks, _, err := a.scanKeys(ctx, family(ip))
	if err != nil {
		return netip.Prefix{}, false, err
	}
	for _, b := range blocks {
		if b.Contains(ip) {
			return b, true, nil
		}
	}
	return netip.Prefix{}, false, nil
}

func checkAddr(ip netip.Addr) (netip.Addr, error) {
	if !ip.IsValid() || ip.IsUnspecified() {
		return ip, fmt.Errorf("address %v: give a unicast address: %w", ip, ErrInvalid)
	}
	return ip.Unmap().WithZone(""), nil
}

// AssignIP assigns a specific address (docker run --ip) to handle. The
// address must lie in an enabled pool; its block is claimed for this node
// when nobody holds it yet. If the address is taken the error is an
// *InUseError naming the holder.
func (a *Allocator) AssignIP(ctx context.Context, ip netip.Addr, handle string, attrs map[string]string) error {
	ip, err := checkAddr(ip)
	if err != nil {
		return err
	}
	if err := checkID("handle", handle); err != nil {
		return err
	}
	if err := a.lock(ctx); err != nil {
		return err
	}
	defer a.unlock()
	attr := newAttribute(handle, a.attrsFor(attrs))
	for force := false; ; force = true {
		err := a.assignOnce(ctx, ip, attr, force)
		if err == nil || force || !(errors.Is(err, errPoolChanged) || errors.Is(err, ErrNoPool) || errors.Is(err, ErrPoolDisabled)) {
			return err
		}
	}
}

// assignOnce is one attempt of AssignIP, with the pools read afresh when force.
func (a *Allocator) assignOnce(ctx context.Context, ip netip.Addr, attr attribute, force bool) error {
	pools, _, err := a.loadPools(ctx, force)
	if err != nil {
		return err
	}
	p, ok := poolContaining(pools, ip)
	if !ok {
		return fmt.Errorf("assign %s: the address is in no IP pool: choose an address inside a pool (calicoctl get ippools) or create a pool containing it: %w", ip, ErrNoPool)
	}
	if p.Spec.Disabled {
		return fmt.Errorf("assign %s: IP pool %s is disabled: enable it (spec.disabled: false) or choose another address: %w", ip, p, ErrPoolDisabled)
	}
	if err := a.loadReservations(ctx); err != nil {
		return err
	}
	if err := a.checkReserved(ip); err != nil { // reservations.go
		return err
	}
	cidr, found, err := a.blockOf(ctx, ip)
	if err != nil {
		return err
	}
	if !found {
		cidr = blockFor(ip, p.blockSize)
	}
	if err := a.assignIn(ctx, cidr, ip, attr, &p); err != nil {
		return fmt.Errorf("assign %s: %w", ip, err)
	}
	return nil
}

// assignIn assigns ip inside block cidr, claiming the block if it does not exist.
func (a *Allocator) assignIn(ctx context.Context, cidr netip.Prefix, ip netip.Addr, attr attribute, guard *pool) error {
	ord := ordinal(cidr, ip)
	ops := handleOps(attr.handle(), cidr, []netip.Addr{ip})
	c, fresh := a.cache[cidr], false
	for range maxAttempts {
		if c == nil {
			nb := newBlock(cidr, a.node)
			nb.assign(ord, attr)
			won, err := a.commit(ctx, nil, nb, guard, ops...)
			if won || err != nil {
				return err
			}
		} else {
			nb := c.b.clone()
			if !nb.assign(ord, attr) {
				if fresh {
					h, _ := c.b.holder(ord)
					return &InUseError{IP: ip, Handle: h.handle(), Node: h.Secondary[AttrNode]}
				}
				// Confirm a negative answer from the cache against etcd.
				if _, err := a.fetch(ctx, cidr); err != nil {
					return err
				}
			} else if won, err := a.commit(ctx, c, nb, guard, ops...); won || err != nil {
				return err
			}
		}
		c, fresh = a.cache[cidr], true
	}
	return ErrConflict
}

// SetHandle re-owns an allocated address: it records ip against handle
// with attrs (replacing the previous handle and attributes; node and
// timestamp are filled in when absent). The IPAM driver assigns an address
// before Docker creates the endpoint; the network driver calls SetHandle
// at CreateEndpoint so the address is owned by the endpoint.
func (a *Allocator) SetHandle(ctx context.Context, ip netip.Addr, handle string, attrs map[string]string) error {
	ip, err := checkAddr(ip)
	if err != nil {
		return err
	}
	if err := checkID("handle", handle); err != nil {
		return err
	}
	if err := a.lock(ctx); err != nil {
		return err
	}
	defer a.unlock()
	cidr, found, err := a.blockOf(ctx, ip)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("set handle of %s to %q: %w (no block holds it)", ip, handle, ErrNotAllocated)
	}
	attr := newAttribute(handle, a.attrsFor(attrs))
	c, fresh := a.cache[cidr], false
	for range maxAttempts {
		if c == nil {
			if c, err = a.fetch(ctx, cidr); err != nil || c == nil {
				return fmt.Errorf("set handle of %s to %q: %w", ip, handle, orNotAllocated(err))
			}
			fresh = true
		}
		ord := ordinal(cidr, ip)
		old, ok := c.b.holder(ord)
		if !ok {
			if fresh {
				return fmt.Errorf("set handle of %s to %q: %w", ip, handle, ErrNotAllocated)
			}
			c = nil
			continue
		}
		nb := c.b.clone()
		nb.setAttr(ord, attr)
		ops := handleOps(handle, cidr, []netip.Addr{ip})
		if old.handle() != handle && old.handle() != "" {
			ops = append(ops, datastore.Del(handleKey(old.handle(), ip)))
		}
		won, err := a.commit(ctx, c, nb, nil, ops...)
		if won || err != nil {
			return err
		}
		c, fresh = a.cache[cidr], true
	}
	return ErrConflict
}

func orNotAllocated(err error) error {
	if err != nil {
		return err
	}
	return ErrNotAllocated
}
