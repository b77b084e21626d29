package ipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Calico's IP pool rules, for every path that writes pools (calicoctl
// apply/create/replace/delete, the classic pool commands, the IPAM
// driver). Per-object rules (a sound CIDR, no IPv4-mapped or other
// special range, a block size that fits) are IPPool.Validate's; the rules
// here need the other pools and the IPAM state:
//
//   - no two pools overlap;
//   - an existing pool's CIDR and blockSize never change (its blocks were
//     cut to them);
//   - a pool with allocated addresses is not deleted: disable it, move or
//     remove its workloads, then delete it;
//   - deleting a pool deletes its (empty) blocks and their affinities in
//     the same transaction, so no block, affinity or blackhole route of a
//     pool outlives it.

// ErrPoolRule: a pool write breaks one of the rules above.
var ErrPoolRule = errors.New("IP pool rule")

// CheckPoolWrite checks a create or replace of p against the stored pools
// and against batch, the other pools written with it (e.g. in one file).
// p must be defaulted (Store.Create/Apply do it; call p.Default() first).
func (a *Allocator) CheckPoolWrite(ctx context.Context, p *resources.IPPool, batch []*resources.IPPool) error {
	cidr, err := resources.ParseCIDR(p.Spec.CIDR)
	if err != nil {
		return fmt.Errorf("IP pool %s: spec.cidr %q is not a CIDR: %w", p.Name, p.Spec.CIDR, ErrInvalid)
	}
	stored, err := a.listPools(ctx)
	if err != nil {
		return err
	}
	if err := checkAgainstStored(p, cidr, stored); err != nil {
		return err
	}
	for _, o := range batch {
		oc, err := resources.ParseCIDR(o.Spec.CIDR)
		if o == p || o.Name == p.Name || err != nil {
			continue
		}
		if oc.Overlaps(cidr) {
			return fmt.Errorf("IP pool %s: spec.cidr %s overlaps IP pool %s (%s) written with it: pools may not overlap; keep one of them: %w", p.Name, cidr, o.Name, oc, ErrPoolRule)
		}
	}
	return nil
}

// CreatePool creates the pool p if it overlaps no stored pool, in one
// compare-and-swap: the create commits only if no pool was created or
// changed since the pools it was checked against were read, so two
// concurrent creates of overlapping pools (two `docker network create
// --subnet` at once) cannot both succeed. It wraps
// datastore.ErrAlreadyExists when the name is taken and ErrPoolRule when p
// breaks a pool rule.
func (a *Allocator) CreatePool(ctx context.Context, p *resources.IPPool) (*resources.IPPool, error) {
	p.Default()
	cidr, err := resources.ParseCIDR(p.Spec.CIDR)
	if err != nil {
		return nil, fmt.Errorf("IP pool %s: spec.cidr %q is not a CIDR: %w", p.Name, p.Spec.CIDR, ErrInvalid)
	}
	for range maxAttempts {
		stored, rev, err := a.listPoolsAt(ctx)
		if err != nil {
			return nil, err
		}
		if err := checkAgainstStored(p, cidr, stored); err != nil {
			return nil, err
		}
		cond, err := datastore.UnchangedSince(resources.KindIPPool, "", rev)
		if err != nil {
			return nil, err
		}
		err = a.call(ctx, "create IP pool "+p.Name, func(c context.Context) error {
			_, err := a.store.CreateIf(c, p, cond)
			return err
		})
		if !errors.Is(err, datastore.ErrConflict) {
			return p, err
		}
		// A pool was written meanwhile: check against it too.
	}
	return nil, fmt.Errorf("create IP pool %s: %w", p.Name, ErrConflict)
}

// checkAgainstStored checks p (whose CIDR is cidr) against the stored
// pools: no overlap, and an existing pool of its name keeps its CIDR and
// block size.
func checkAgainstStored(p *resources.IPPool, cidr netip.Prefix, stored []pool) error {
	for _, o := range stored {
		if o.Name == p.Name {
			if err := checkImmutable(p, o); err != nil {
				return err
			}
			continue
		}
		if o.cidr.Overlaps(cidr) {
			return fmt.Errorf("IP pool %s: spec.cidr %s overlaps IP pool %s (%s): pools may not overlap; choose a CIDR outside it, or change that pool instead: %w", p.Name, cidr, o.Name, o.cidr, ErrPoolRule)
		}
	}
	return nil
}

// checkImmutable refuses a change of an existing pool's CIDR or block size.
func checkImmutable(p *resources.IPPool, old pool) error {
	cidr, _ := resources.ParseCIDR(p.Spec.CIDR)
	if cidr != old.cidr {
		return fmt.Errorf("IP pool %s: spec.cidr cannot change (%s -> %s): create a new pool with the new CIDR, disable this one (spec.disabled: true), move its workloads, then delete it: %w", p.Name, old.cidr, cidr, ErrPoolRule)
	}
	if p.Spec.BlockSize != 0 && p.Spec.BlockSize != old.blockSize {
		return fmt.Errorf("IP pool %s: spec.blockSize cannot change (%d -> %d): its blocks are cut to it; create a new pool instead: %w", p.Name, old.blockSize, p.Spec.BlockSize, ErrPoolRule)
	}
	return nil
}

// PoolInUseError refuses the deletion of a pool with allocated addresses.
type PoolInUseError struct {
	Pool  string
	CIDR  netip.Prefix
	InUse int
}

func (e *PoolInUseError) Error() string {
	return fmt.Sprintf("IP pool %s (%s) still has %d allocated address(es): nothing was deleted; disable it first "+
		"(calicoctl apply with spec.disabled: true) so no new address is taken from it, move or remove the containers "+
		"that use it (calicoctl ipam show --show-blocks lists them), then delete it", e.Pool, e.CIDR, e.InUse)
}

// Is makes errors.Is(err, ErrPoolRule) true.
func (e *PoolInUseError) Is(target error) bool { return target == ErrPoolRule }

// DeletePool deletes the pool name (only at resourceVersion, when given)
// together with its blocks and their affinities, in one transaction that
// requires the pool and every block unchanged and empty. It fails with a
// *PoolInUseError while addresses of the pool are allocated, and wraps
// datastore.ErrNotFound when there is no such pool.
func (a *Allocator) DeletePool(ctx context.Context, name, resourceVersion string) (*resources.IPPool, error) {
	for range maxAttempts {
		p, done, err := a.deletePoolOnce(ctx, name, resourceVersion)
		if done || err != nil {
			return p, err
		}
	}
	return nil, fmt.Errorf("delete IP pool %s: %w", name, ErrConflict)
}

// deletePoolOnce reads the pool and its blocks and deletes them all if
// nothing changed meanwhile; done is false when something did.
func (a *Allocator) deletePoolOnce(ctx context.Context, name, resourceVersion string) (*resources.IPPool, bool, error) {
	pools, err := a.listPools(ctx)
	if err != nil {
		return nil, false, err
	}
	var p *pool
	for i := range pools {
		if pools[i].Name == name {
			p = &pools[i]
		}
	}
	if p == nil {
		// No such pool, or one listPools skips (an unusable CIDR): no
		// block was ever allocated from it, so it goes alone.
		var del resources.Resource
		err := a.call(ctx, "delete IP pool "+name, func(c context.Context) (err error) {
			del, err = a.store.Delete(c, resources.KindIPPool, "", name, resourceVersion)
			return err
		})
		if err != nil {
			return nil, false, err
		}
		return del.(*resources.IPPool), true, nil
	}
	if resourceVersion != "" && resourceVersion != strconv.FormatInt(p.rev, 10) {
		return nil, false, fmt.Errorf("delete IP pool %s: %w", name, datastore.ErrConflict)
	}
	kvs, err := a.listKeys(ctx, blockFamilyPrefix(family(p.cidr.Addr())), false)
	if err != nil {
		return nil, false, err
	}
	t := datastore.Txn{If: []datastore.Cond{datastore.At(p.key, p.rev)}, Then: []datastore.Op{datastore.Del(p.key)}}
	inUse := 0
	for _, kv := range kvs {
		b, err := decodeBlock(kv.Value)
		if err != nil || !p.cidr.Overlaps(b.cidr) || poolContainingBlock(pools, b.cidr) != p {
			continue
		}
		inUse += len(b.alloc) - b.freeCount()
		t.If = append(t.If, datastore.At(kv.Key, kv.ModRevision))
		t.Then = append(t.Then, datastore.Del(kv.Key))
		if b.affinity != "" {
			t.Then = append(t.Then, datastore.Del(affinityKey(b.affinity, b.cidr)))
		}
	}
	if inUse > 0 {
		return nil, false, &PoolInUseError{Pool: name, CIDR: p.cidr, InUse: inUse}
	}
	if len(t.Then) > maxTxnOps {
		// Too many for one transaction: delete the empty blocks in
		// chunks (each only while the pool and its blocks are unchanged),
		// then look again; what is left then fits.
		return nil, false, a.deleteEmptyBlocks(ctx, p, t)
	}
	res, err := a.commitTxn(ctx, "delete IP pool "+name, t)
	if err != nil || !res.Succeeded {
		return nil, false, err
	}
	a.pools = nil
	for _, kv := range kvs {
		if c, err := parseCIDRKey(kv.Key[len(blockFamilyPrefix(family(p.cidr.Addr()))):]); err == nil && p.cidr.Overlaps(c) {
			delete(a.cache, c)
		}
	}
	slog.Info("ipam: deleted IP pool with its empty blocks", "pool", name, "cidr", p.cidr, "blocks", (len(t.Then)-1)/2)
	return p.IPPool, true, nil
}

// poolContainingBlock returns the pool a block belongs to: the most
// specific pool containing its first address.
func poolContainingBlock(pools []pool, b netip.Prefix) *pool {
	var best *pool
	for i, p := range pools {
		if p.cidr.Contains(b.Addr()) && (best == nil || p.cidr.Bits() > best.cidr.Bits()) {
			best = &pools[i]
		}
	}
	return best
}

// deleteEmptyBlocks deletes the blocks (and affinities) of t, a pool
// deletion too large for one transaction, in chunks, each conditional on
// the pool and the chunk's blocks being unchanged.
func (a *Allocator) deleteEmptyBlocks(ctx context.Context, p *pool, t datastore.Txn) error {
	conds, ops := t.If[1:], t.Then[1:] // after the pool's own
	for len(conds) > 0 {
		var c datastore.Txn
		c.If = append(c.If, t.If[0])
		for len(conds) > 0 && len(c.Then)+2 <= maxTxnOps-1 {
			c.If = append(c.If, conds[0])
			bkey := conds[0].Key
			conds = conds[1:]
			for len(ops) > 0 && (ops[0].Key == bkey || !isBlockKey(ops[0].Key)) {
				c.Then = append(c.Then, ops[0])
				ops = ops[1:]
			}
		}
		if _, err := a.commitTxn(ctx, "delete empty blocks of IP pool "+p.Name, c); err != nil {
			return err
		}
	}
	return nil
}

func isBlockKey(k string) bool {
	return len(k) > len(assignmentPrefix) && k[:len(assignmentPrefix)] == assignmentPrefix
}
