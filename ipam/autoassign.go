package ipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
)

// AutoAssignArgs asks for addresses chosen by the allocator.
type AutoAssignArgs struct {
	// Handle records who owns the addresses (an endpoint, or a provisional
	// handle); ReleaseByHandle frees them all. Required; no '/' or spaces.
	Handle string
	// Num4 and Num6 are how many IPv4 and IPv6 addresses to assign.
	Num4, Num6 int
	// Pools restricts the assignment to the pools with exactly these CIDRs;
	// empty means every enabled pool of the family that selects this node.
	Pools []netip.Prefix
	// Exclude leaves out the pools with these CIDRs when Pools is empty
	// (the IPAM driver keeps subnet-less networks out of --subnet pools).
	Exclude []netip.Prefix
	// Attrs are free-form attributes stored with each address; "node" and
	// "timestamp" are filled in when absent.
	Attrs map[string]string
}

// AutoAssign assigns Num4 IPv4 and Num6 IPv6 addresses. Addresses come
// from blocks this node has affinity for; when those are full it claims a
// free block of an eligible pool; only when no eligible pool has a free
// block does it borrow a free address from another node's block. It is
// all or nothing: on error, addresses assigned by this call are released.
func (a *Allocator) AutoAssign(ctx context.Context, args AutoAssignArgs) (v4, v6 []netip.Addr, err error) {
	if err := checkID("handle", args.Handle); err != nil {
		return nil, nil, err
	}
	if args.Num4 < 0 || args.Num6 < 0 || args.Num4+args.Num6 == 0 || args.Num4 > maxPerRequest || args.Num6 > maxPerRequest {
		return nil, nil, fmt.Errorf("auto-assign %d IPv4 and %d IPv6 addresses: ask for 1 to %d of at least one family: %w", args.Num4, args.Num6, maxPerRequest, ErrInvalid)
	}
	if err := a.lock(ctx); err != nil {
		return nil, nil, err
	}
	defer a.unlock()
	force := false
	for {
		v4, v6, fetched, err := a.autoAssignOnce(ctx, args, force)
		if err == nil {
			return v4, v6, nil
		}
		// A cached pool list may miss a new pool or hold a changed one:
		// retry once with a fresh one.
		stale := errors.Is(err, errPoolChanged) || !fetched && (errors.Is(err, ErrNoPool) || errors.Is(err, ErrPoolDisabled) || errors.Is(err, ErrExhausted))
		if force || !stale {
			return nil, nil, fmt.Errorf("auto-assign for handle %q: %w", args.Handle, err)
		}
		force = true
	}
}

// autoAssignOnce is one attempt of AutoAssign; fetched reports whether it
// read the pools afresh.
func (a *Allocator) autoAssignOnce(ctx context.Context, args AutoAssignArgs, force bool) (v4, v6 []netip.Addr, fetched bool, err error) {
	all, fetched, err := a.loadPools(ctx, force)
	if err != nil {
		return nil, nil, fetched, err
	}
	if err := a.loadReservations(ctx); err != nil {
		return nil, nil, fetched, err
	}
	// Resolve both families' pools before writing anything, so a request
	// that cannot be met changes nothing.
	var pools4, pools6 []pool
	if args.Num4 > 0 {
		if pools4, err = a.eligible(all, true, args.Pools, args.Exclude); err != nil {
			return nil, nil, fetched, err
		}
	}
	if args.Num6 > 0 {
		if pools6, err = a.eligible(all, false, args.Pools, args.Exclude); err != nil {
			return nil, nil, fetched, err
		}
	}
	attr := newAttribute(args.Handle, a.attrsFor(args.Attrs))
	if v4, err = a.assignFamily(ctx, pools4, args.Num4, attr); err == nil {
		v6, err = a.assignFamily(ctx, pools6, args.Num6, attr)
	}
	if err != nil {
		a.rollback(ctx, args.Handle, append(v4, v6...))
		return nil, nil, fetched, err
	}
	return v4, v6, fetched, nil
}

// rollback releases addresses a failed AutoAssign had assigned.
func (a *Allocator) rollback(ctx context.Context, handle string, ips []netip.Addr) {
	if len(ips) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*a.callTimeout)
	defer cancel()
	_, err := a.release(rctx, ips, onlyHandle(handle))
	if err == nil {
		return
	}
	if a.intents != nil {
		in := make([]Intent, len(ips))
		for i, ip := range ips {
			in[i] = Intent{IP: ip, Handle: handle, Before: a.now(), Reason: "roll-back of a failed assignment"}
		}
		if qerr := a.intents.Add(in...); qerr == nil {
			slog.Warn("ipam: roll-back of a failed assignment recorded, to apply when etcd answers", "ips", ips, "err", err)
			return
		}
	}
	slog.Error("ipam: could not roll back a failed assignment; the addresses leak until released", "ips", ips, "err", err)
}

// assignFamily assigns n addresses of one family from pools.
func (a *Allocator) assignFamily(ctx context.Context, pools []pool, n int, attr attribute) ([]netip.Addr, error) {
	var out, ips []netip.Addr
	var existing []netip.Prefix // a fresh block list from refreshAffine
	reloaded := false
	for attempt := 0; len(out) < n; attempt++ {
		if attempt >= maxAttempts+n {
			return out, fmt.Errorf("after %d attempts: %w", attempt, ErrConflict)
		}
		var err error
		if c := a.pickAffine(pools); c != nil {
			ips, err = a.allocFrom(ctx, c, pools, n-len(out), attr)
			if err != nil {
				return out, err
			}
			out = append(out, ips...)
			continue
		}
		if !reloaded {
			// The cache says our blocks are full: re-check them, addresses
			// may have been released through another Allocator.
			reloaded = true
			if existing, err = a.refreshAffine(ctx, family(pools[0].cidr.Addr())); err != nil {
				return out, err
			}
			continue
		}
		var progress bool
		ips, progress, err = a.claimOrBorrow(ctx, pools, n-len(out), attr, existing)
		existing = nil
		if err != nil {
			return out, err
		}
		if !progress {
			return out, fmt.Errorf("pools %s: %w: free addresses by removing containers, or add a pool with calicoctl apply", poolNames(pools), ErrExhausted)
		}
		out = append(out, ips...)
	}
	return out, nil
}

func poolNames(pools []pool) string {
	s := ""
	for i, p := range pools {
		if i > 0 {
			s += ", "
		}
		s += p.String()
	}
	return s
}

// inPools reports whether block b lies inside one of pools.
func inPools(b netip.Prefix, pools []pool) bool { return poolOf(b, pools) != nil }

// pickAffine returns the lowest cached block with affinity to this node,
// inside pools, that has a free address.
func (a *Allocator) pickAffine(pools []pool) *cachedBlock {
	var best *cachedBlock
	for cidr, c := range a.cache {
		if c.b.affinity != a.node || !inPools(cidr, pools) || !a.hasUsable(c) {
			continue
		}
		if best == nil || cidr.Addr().Less(best.b.cidr.Addr()) {
			best = c
		}
	}
	return best
}

// allocFrom takes up to n addresses from a cached block in one
// compare-and-swap; nil, nil when the block changed (the cache is then fresh).
func (a *Allocator) allocFrom(ctx context.Context, c *cachedBlock, pools []pool, n int, attr attribute) ([]netip.Addr, error) {
	nb := c.b.clone()
	ips := addrsOf(nb.cidr, nb.allocateSkipping(min(n, maxPerTxn), attr, a.reserved.skipper(nb.cidr)))
	ok, err := a.commit(ctx, c, nb, poolOf(nb.cidr, pools), handleOps(attr.handle(), nb.cidr, ips)...)
	if err != nil || !ok {
		return nil, err
	}
	return ips, nil
}

func addrsOf(b netip.Prefix, ords []int) []netip.Addr {
	ips := make([]netip.Addr, len(ords))
	for i, o := range ords {
		ips[i] = addrAt(b, o)
	}
	return ips
}
