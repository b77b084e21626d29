package ipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// Releasing a block's affinity.
//
// A node keeps the affinity of its empty blocks (so it reuses them). When
// the node is gone for good, its blocks stay claimed and no other node
// claims them while the pool has unclaimed blocks. ReleaseAffinity gives
// such a block back to the pool: it deletes the block record and the
// node's affinity key in one transaction that also requires the block
// unchanged since it was found empty, so an address allocated (or
// borrowed) meanwhile is never lost. A block that still holds addresses
// is refused: freeing it would let another node hand those addresses out
// again.

var (
	// ErrBlockInUse: the block still holds allocated addresses.
	ErrBlockInUse = errors.New("IPAM block still holds allocated addresses")
	// ErrNotAffine: the block does not exist, or another node holds its affinity.
	ErrNotAffine = errors.New("node does not hold the block's affinity")
)

// BlockInUseError says how many addresses keep a block from being freed.
type BlockInUseError struct {
	CIDR  netip.Prefix
	Node  string
	InUse int
}

func (e *BlockInUseError) Error() string {
	return fmt.Sprintf("block %s of node %q still has %d allocated address(es): release them first "+
		"(calicoctl ipam check lists leaked ones, calicoctl ipam release frees them), then free the block", e.CIDR, e.Node, e.InUse)
}

// Is makes errors.Is(err, ErrBlockInUse) true.
func (e *BlockInUseError) Is(target error) bool { return target == ErrBlockInUse }

// ReleaseAffinity frees an empty block node holds affinity for: the block
// record and the affinity key are deleted together. It fails with a
// *BlockInUseError when the block still holds addresses, and wraps
// ErrNotAffine when the block does not exist or is affine to another
// node. A stale affinity key whose block no longer exists is deleted
// (and that is success).
func (a *Allocator) ReleaseAffinity(ctx context.Context, node string, cidr netip.Prefix) error {
	if err := checkID("node name", node); err != nil {
		return err
	}
	if !cidr.IsValid() || cidr != cidr.Masked() || !validBlock(cidr) {
		return fmt.Errorf("release affinity: %s is not an IPAM block (give a block CIDR as calicoctl ipam show --show-blocks lists): %w", cidr, ErrInvalid)
	}
	if err := a.lock(ctx); err != nil {
		return err
	}
	defer a.unlock()
	defer delete(a.cache, cidr) // whatever happened, re-read it next time
	for range maxAttempts {
		done, err := a.releaseAffinityOnce(ctx, node, cidr)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("release affinity of block %s: %w", cidr, ErrConflict)
}

// releaseAffinityOnce reads the block and the affinity key, then deletes
// both if the block is still empty; false when the block changed meanwhile.
func (a *Allocator) releaseAffinityOnce(ctx context.Context, node string, cidr netip.Prefix) (bool, error) {
	bkey, akey := blockKey(cidr), affinityKey(node, cidr)
	got, err := a.getKeys(ctx, []string{bkey, akey}, false)
	if err != nil {
		return false, fmt.Errorf("read block %s: %w", cidr, err)
	}
	bkv, bok := got[bkey]
	akv, aok := got[akey]
	if !bok {
		if !aok {
			return false, fmt.Errorf("block %s does not exist and node %q holds no affinity for it: nothing to free: %w", cidr, node, ErrNotAffine)
		}
		// The affinity outlived its block: drop it, unless it changed.
		return a.deleteIfUnchanged(ctx, cidr, []string{akey}, datastore.Absent(bkey), datastore.At(akey, akv.ModRevision))
	}
	b, err := decodeBlock(bkv.Value)
	if err != nil {
		return false, fmt.Errorf("block %s: %w", cidr, err)
	}
	if b.affinity != node {
		holder := "no node"
		if b.affinity != "" {
			holder = fmt.Sprintf("node %q", b.affinity)
		}
		return false, fmt.Errorf("block %s is affine to %s, not to %q: nothing was freed: %w", cidr, holder, node, ErrNotAffine)
	}
	if n := len(b.alloc) - b.freeCount(); n > 0 {
		return false, &BlockInUseError{CIDR: cidr, Node: node, InUse: n}
	}
	return a.deleteIfUnchanged(ctx, cidr, []string{bkey, akey}, datastore.At(bkey, bkv.ModRevision))
}

// deleteIfUnchanged deletes keys when cmps hold; false when they did not.
func (a *Allocator) deleteIfUnchanged(ctx context.Context, cidr netip.Prefix, keys []string, cmps ...datastore.Cond) (bool, error) {
	t := datastore.Txn{If: cmps}
	for _, k := range keys {
		t.Then = append(t.Then, datastore.Del(k))
	}
	resp, err := a.commitTxn(ctx, "free block "+cidr.String(), t)
	if err != nil {
		return false, err
	}
	if resp.Succeeded {
		slog.Info("ipam: released block affinity", "block", cidr, "keys", keys)
	}
	return resp.Succeeded, nil
}

// FreeEmptyBlock deletes an empty block whatever node (if any) holds its
// affinity, with that affinity, in one transaction that requires the
// block unchanged (calicoctl ipam release frees blocks in no pool with
// it). It fails with a *BlockInUseError when the block holds addresses.
func (a *Allocator) FreeEmptyBlock(ctx context.Context, cidr netip.Prefix) error {
	if !cidr.IsValid() || cidr != cidr.Masked() || !validBlock(cidr) {
		return fmt.Errorf("free block: %s is not an IPAM block (give a block CIDR as calicoctl ipam show --show-blocks lists): %w", cidr, ErrInvalid)
	}
	if err := a.lock(ctx); err != nil {
		return err
	}
	defer a.unlock()
	defer delete(a.cache, cidr)
	for range maxAttempts {
		kv, ok, err := a.getKey(ctx, blockKey(cidr))
		if err != nil || !ok {
			return err // gone already: nothing to free
		}
		b, err := decodeBlock(kv.Value)
		if err != nil {
			return fmt.Errorf("block %s: %w", cidr, err)
		}
		if n := len(b.alloc) - b.freeCount(); n > 0 {
			return &BlockInUseError{CIDR: cidr, Node: b.affinity, InUse: n}
		}
		keys := []string{blockKey(cidr)}
		if b.affinity != "" {
			keys = append(keys, affinityKey(b.affinity, cidr))
		}
		done, err := a.deleteIfUnchanged(ctx, cidr, keys, datastore.At(blockKey(cidr), kv.ModRevision))
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("free block %s: %w", cidr, ErrConflict)
}
