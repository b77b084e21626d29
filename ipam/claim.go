package ipam

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
)

// maxTxnOps stays under etcd's default --max-txn-ops (128).
const maxTxnOps = 100

// maxPerTxn bounds the addresses one transaction allocates (one handle
// key each, plus the block and affinity keys).
const maxPerTxn = maxTxnOps - 2

// claimOrBorrow is the slow path of AutoAssign, taken when this node's
// blocks are full: claim the first free block of the first pool that has
// one (allocating from it in the same transaction), else borrow from any
// block of the pools. progress is false when the pools are exhausted.
// existing, when not nil, is a fresh list of the family's blocks.
func (a *Allocator) claimOrBorrow(ctx context.Context, pools []pool, n int, attr attribute, existing []netip.Prefix) (ips []netip.Addr, progress bool, err error) {
	fam := family(pools[0].cidr.Addr())
	if existing == nil {
		if existing, _, err = a.scanKeys(ctx, fam); err != nil {
			return nil, false, err
		}
	}
	for i, p := range pools {
		cidr, ok := firstFreeBlock(p, slices.Concat(existing, a.reserved.wholeBlocks(p.blockSize)))
		if !ok {
			continue
		}
		nb := newBlock(cidr, a.node)
		ips := addrsOf(cidr, nb.allocateSkipping(min(n, maxPerTxn), attr, a.reserved.skipper(cidr)))
		won, err := a.commit(ctx, nil, nb, &pools[i], handleOps(attr.handle(), cidr, ips)...)
		if err != nil {
			return nil, false, fmt.Errorf("claim block %s of pool %s: %w", cidr, p.Name, err)
		}
		if !won {
			// Another node claimed it first; the caller retries with a new scan.
			return nil, true, nil
		}
		slog.Info("ipam: claimed block", "block", cidr, "pool", p.Name, "node", a.node)
		return ips, true, nil
	}
	// No free block: read every block, to borrow a free address.
	if existing, err = a.scanValues(ctx, fam); err != nil {
		return nil, false, err
	}
	for _, cidr := range existing {
		c := a.cache[cidr]
		if c == nil || !inPools(cidr, pools) || !a.hasUsable(c) {
			continue
		}
		slog.Debug("ipam: borrowing from another node's block", "block", cidr, "affinity", c.b.affinity, "node", a.node)
		ips, err := a.allocFrom(ctx, c, pools, n, attr)
		return ips, true, err
	}
	return nil, false, nil
}

// scanKeys lists every block of a family, sorted, with its mod revision.
func (a *Allocator) scanKeys(ctx context.Context, fam string) ([]netip.Prefix, map[netip.Prefix]int64, error) {
	prefix := blockFamilyPrefix(fam)
	kvs, err := a.listKeys(ctx, prefix, true)
	if err != nil {
		return nil, nil, fmt.Errorf("list %s blocks: %w", fam, err)
	}
	out := make([]netip.Prefix, 0, len(kvs))
	revs := make(map[netip.Prefix]int64, len(kvs))
	for _, kv := range kvs {
		cidr, err := parseCIDRKey(kv.Key[len(prefix):])
		if err != nil {
			slog.Warn("ipam: ignoring a malformed block key", "key", kv.Key, "err", err)
			continue
		}
		out = append(out, cidr)
		revs[cidr] = kv.ModRevision
	}
	slices.SortFunc(out, comparePrefix)
	return out, revs, nil
}

// scanValues reads every block of a family into the cache and lists them, sorted.
func (a *Allocator) scanValues(ctx context.Context, fam string) ([]netip.Prefix, error) {
	prefix := blockFamilyPrefix(fam)
	kvs, err := a.listKeys(ctx, prefix, false)
	if err != nil {
		return nil, fmt.Errorf("read %s blocks: %w", fam, err)
	}
	out := make([]netip.Prefix, 0, len(kvs))
	for _, kv := range kvs {
		cidr, err := parseCIDRKey(kv.Key[len(prefix):])
		if err != nil {
			continue
		}
		if _, err := a.remember(cidr, kv.Value, kv.ModRevision); err != nil {
			slog.Warn("ipam: ignoring a corrupt block", "block", cidr, "err", err)
		}
		out = append(out, cidr)
	}
	slices.SortFunc(out, comparePrefix)
	return out, nil
}

// firstFreeBlock returns the lowest block of pool that overlaps no
// existing block (existing is sorted).
func firstFreeBlock(p pool, existing []netip.Prefix) (netip.Prefix, bool) {
	same := map[netip.Prefix]bool{}
	var odd []netip.Prefix // blocks of another size overlapping the pool
	for _, b := range existing {
		switch {
		case !b.Overlaps(p.cidr):
		case b.Bits() == p.blockSize:
			same[b] = true
		default:
			odd = append(odd, b)
		}
	}
	// Every taken candidate overlaps one of the existing blocks, so this
	// stops after at most a few candidates per existing block.
	for i := uint64(0); ; i++ {
		cand, ok := nthBlock(p.cidr, p.blockSize, i)
		if !ok {
			return netip.Prefix{}, false
		}
		if !same[cand] && !slices.ContainsFunc(odd, cand.Overlaps) {
			return cand, true
		}
	}
}

// refreshAffine brings the cache's view of this node's blocks up to date
// when they look full (addresses may have been freed through another
// process) and returns the family's block list for a claim. The first
// time, it reads the node's affinities (after a restart the cache is
// empty); later one keys-only scan shows which cached blocks changed.
func (a *Allocator) refreshAffine(ctx context.Context, fam string) ([]netip.Prefix, error) {
	if !a.primed[fam] {
		if err := a.loadAffine(ctx, fam); err != nil {
			return nil, err
		}
		a.primed[fam] = true
	}
	blocks, revs, err := a.scanKeys(ctx, fam)
	if err != nil {
		return nil, err
	}
	var stale []netip.Prefix
	for cidr, c := range a.cache {
		if family(cidr.Addr()) != fam || c.b.affinity != a.node {
			continue
		}
		switch rev, ok := revs[cidr]; {
		case !ok:
			delete(a.cache, cidr)
		case rev != c.rev:
			stale = append(stale, cidr)
		}
	}
	_, err = a.readBlocks(ctx, stale, false)
	return blocks, err
}

// loadAffine reads every block this node has affinity for in a family.
func (a *Allocator) loadAffine(ctx context.Context, fam string) error {
	prefix := affinityPrefix(a.node, fam)
	kvs, err := a.listKeys(ctx, prefix, true)
	if err != nil {
		return fmt.Errorf("list blocks of node %q: %w", a.node, err)
	}
	var cidrs []netip.Prefix
	for _, kv := range kvs {
		if cidr, err := parseCIDRKey(kv.Key[len(prefix):]); err == nil {
			cidrs = append(cidrs, cidr)
		}
	}
	_, err = a.readBlocks(ctx, cidrs, false)
	return err
}

// readBlocks reads blocks, many per round trip. With revsOnly it reads
// only their mod revisions and returns the blocks whose cached copy is
// missing or stale; otherwise it puts their values in the cache.
func (a *Allocator) readBlocks(ctx context.Context, cidrs []netip.Prefix, revsOnly bool) ([]netip.Prefix, error) {
	var stale []netip.Prefix
	for chunk := range slices.Chunk(cidrs, maxTxnOps) {
		keys := make([]string, len(chunk))
		for i, c := range chunk {
			keys[i] = blockKey(c)
		}
		got, err := a.getKeys(ctx, keys, revsOnly)
		if err != nil {
			return nil, fmt.Errorf("read blocks: %w", err)
		}
		for i, cidr := range chunk {
			kv, ok := got[keys[i]]
			switch {
			case !ok:
				delete(a.cache, cidr)
			case revsOnly:
				if c := a.cache[cidr]; c == nil || c.rev != kv.ModRevision {
					stale = append(stale, cidr)
				}
			default:
				if _, err := a.remember(cidr, kv.Value, kv.ModRevision); err != nil {
					slog.Warn("ipam: ignoring a corrupt block", "block", cidr, "err", err)
				}
			}
		}
	}
	return stale, nil
}
