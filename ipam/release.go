package ipam

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ReleaseIPs frees addresses, whoever holds them. Addresses that are not
// allocated (never were, or already released) are returned in
// notAllocated and change nothing: a double release is harmless.
func (a *Allocator) ReleaseIPs(ctx context.Context, ips ...netip.Addr) (notAllocated []netip.Addr, err error) {
	if err := a.lock(ctx); err != nil {
		return nil, err
	}
	defer a.unlock()
	return a.release(ctx, ips, "")
}

// release frees ips (only those held by onlyHandle, when it is set).
func (a *Allocator) release(ctx context.Context, ips []netip.Addr, onlyHandle string) ([]netip.Addr, error) {
	var notAllocated []netip.Addr
	byBlock := map[netip.Prefix][]netip.Addr{}
	var order []netip.Prefix
	for _, ip := range ips {
		ip, err := checkAddr(ip)
		if err != nil {
			notAllocated = append(notAllocated, ip)
			continue
		}
		cidr, found, err := a.blockOf(ctx, ip)
		if err != nil {
			return notAllocated, err
		}
		if !found {
			notAllocated = append(notAllocated, ip)
			continue
		}
		if byBlock[cidr] == nil {
			order = append(order, cidr)
		}
		byBlock[cidr] = append(byBlock[cidr], ip)
	}
	for _, cidr := range order {
		missing, err := a.releaseIn(ctx, cidr, byBlock[cidr], onlyHandle, nil)
		notAllocated = append(notAllocated, missing...)
		if err != nil {
			return notAllocated, fmt.Errorf("release addresses in block %s: %w", cidr, err)
		}
	}
	return notAllocated, nil
}

// releaseIn frees ips of one block; stale is nil or holds the handle key
// of each address, to delete if the block says the key is stale.
func (a *Allocator) releaseIn(ctx context.Context, cidr netip.Prefix, ips []netip.Addr, onlyHandle string, stale []string) ([]netip.Addr, error) {
	const chunk = maxPerTxn / 2 // each address may cost two deletes
	var missing []netip.Addr
	for i := 0; i < len(ips); i += chunk {
		j := min(i+chunk, len(ips))
		var st []string
		if stale != nil {
			st = stale[i:j]
		}
		m, err := a.releaseChunk(ctx, cidr, ips[i:j], onlyHandle, st)
		missing = append(missing, m...)
		if err != nil {
			return missing, err
		}
	}
	return missing, nil
}

// releaseChunk frees ips of one block in one compare-and-swap, deleting
// their handle records (and the stale keys given) in the same transaction.
func (a *Allocator) releaseChunk(ctx context.Context, cidr netip.Prefix, ips []netip.Addr, onlyHandle string, stale []string) ([]netip.Addr, error) {
	c, fresh := a.cache[cidr], false
	for range maxAttempts {
		if c == nil {
			var err error
			if c, err = a.fetch(ctx, cidr); err != nil {
				return nil, err
			}
			if c == nil {
				return ips, a.deleteStale(ctx, cidr, 0, stale)
			}
			fresh = true
		}
		nb := c.b.clone()
		var missing []netip.Addr
		deleted := map[string]bool{}
		ops := make([]clientv3.Op, 0, len(ips)+len(stale))
		for _, ip := range ips {
			ord := ordinal(cidr, ip)
			at, ok := nb.holder(ord)
			if !ok || (onlyHandle != "" && at.handle() != onlyHandle) {
				missing = append(missing, ip)
				continue
			}
			nb.release(ord)
			k := handleKey(at.handle(), ip)
			deleted[k] = true
			ops = append(ops, clientv3.OpDelete(k))
		}
		if len(missing) == len(ips) {
			if !fresh {
				c = nil // confirm the negative answer against etcd
				continue
			}
			return missing, a.deleteStale(ctx, cidr, c.rev, stale)
		}
		for _, k := range stale {
			if !deleted[k] { // etcd refuses two writes of one key in a txn
				ops = append(ops, clientv3.OpDelete(k))
			}
		}
		won, err := a.commit(ctx, c, nb, nil, ops...)
		if won || err != nil {
			return missing, err
		}
		c, fresh = a.cache[cidr], true
	}
	return nil, ErrConflict
}

// deleteStale removes handle records the block (at revision rev; 0 = the
// block does not exist) says are stale, unless the block changed since.
func (a *Allocator) deleteStale(ctx context.Context, cidr netip.Prefix, rev int64, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	cmp := clientv3.Compare(clientv3.ModRevision(blockKey(cidr)), "=", rev)
	if rev == 0 {
		cmp = clientv3.Compare(clientv3.CreateRevision(blockKey(cidr)), "=", 0)
	}
	ops := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		ops[i] = clientv3.OpDelete(k)
	}
	if _, err := a.cli.Txn(ctx).If(cmp).Then(ops...).Commit(); err != nil {
		return fmt.Errorf("delete stale handle records of block %s: %w", cidr, err)
	}
	slog.Warn("ipam: deleted stale handle records", "block", cidr, "keys", keys)
	return nil
}

// deleteKeys removes stale handle records.
func (a *Allocator) deleteKeys(ctx context.Context, keys []string) error {
	for chunk := range slices.Chunk(keys, maxTxnOps) {
		ops := make([]clientv3.Op, len(chunk))
		for i, k := range chunk {
			ops[i] = clientv3.OpDelete(k)
		}
		if _, err := a.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return fmt.Errorf("delete stale handle records: %w", err)
		}
	}
	return nil
}

// handleRecord is the value of a handle key.
type handleRecord struct {
	Block string `json:"block"`
}

// ReleaseByHandle frees every address recorded against handle. It returns
// an error wrapping ErrHandleNotFound when the handle holds nothing.
func (a *Allocator) ReleaseByHandle(ctx context.Context, handle string) error {
	if err := checkID("handle", handle); err != nil {
		return err
	}
	if err := a.lock(ctx); err != nil {
		return err
	}
	defer a.unlock()
	resp, err := a.cli.Get(ctx, handleKeyPrefix(handle), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("read handle %q: %w", handle, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("release handle %q: %w", handle, ErrHandleNotFound)
	}
	byBlock := map[netip.Prefix][]netip.Addr{}
	staleKeys := map[netip.Prefix][]string{}
	var order []netip.Prefix
	for _, kv := range resp.Kvs {
		key := string(kv.Key)
		_, ip, ok := parseHandleKey(key)
		if !ok {
			slog.Warn("ipam: deleting a malformed handle key", "key", key)
			if err := a.deleteKeys(ctx, []string{key}); err != nil {
				return err
			}
			continue
		}
		cidr, ok := recordBlock(kv.Value, ip)
		if !ok {
			var err error
			if cidr, ok, err = a.blockOf(ctx, ip); err != nil {
				return err
			}
			if !ok {
				if err := a.deleteKeys(ctx, []string{key}); err != nil {
					return err
				}
				continue
			}
		}
		if byBlock[cidr] == nil {
			order = append(order, cidr)
		}
		byBlock[cidr] = append(byBlock[cidr], ip)
		staleKeys[cidr] = append(staleKeys[cidr], key)
	}
	for _, cidr := range order {
		if _, err := a.releaseIn(ctx, cidr, byBlock[cidr], handle, staleKeys[cidr]); err != nil {
			return fmt.Errorf("release handle %q in block %s: %w", handle, cidr, err)
		}
	}
	return nil
}

// recordBlock reads the block a handle record names, if it is sound.
func recordBlock(value []byte, ip netip.Addr) (netip.Prefix, bool) {
	var rec handleRecord
	if json.Unmarshal(value, &rec) != nil {
		return netip.Prefix{}, false
	}
	cidr, err := netip.ParsePrefix(rec.Block)
	if err != nil || !validBlock(cidr) || !cidr.Contains(ip) {
		return netip.Prefix{}, false
	}
	return cidr, true
}
