package ipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// ReleaseIPs frees addresses, whoever holds them. Addresses that are not
// allocated (never were, or already released) are returned in
// notAllocated and change nothing: a double release is harmless.
func (a *Allocator) ReleaseIPs(ctx context.Context, ips ...netip.Addr) (notAllocated []netip.Addr, err error) {
	if err := a.lock(ctx); err != nil {
		return nil, err
	}
	defer a.unlock()
	return a.release(ctx, ips, nil)
}

// ReleaseIPsDurably is ReleaseIPs for callers that cannot retry (Docker
// never retries a ReleaseAddress): when etcd does not answer, the release
// is recorded as an intent (see Intents) and applied once etcd answers;
// queued then reports true and err is nil. Without intents it is ReleaseIPs.
func (a *Allocator) ReleaseIPsDurably(ctx context.Context, ips ...netip.Addr) (notAllocated []netip.Addr, queued bool, err error) {
	if a.intents == nil {
		notAllocated, err = a.ReleaseIPs(ctx, ips...)
		return notAllocated, false, err
	}
	lctx, cancel := context.WithTimeout(ctx, releaseLockWait)
	err = a.lock(lctx)
	cancel()
	if err != nil {
		if a.nodeErr != nil || ctx.Err() != nil {
			return nil, false, err
		}
		// Queued behind requests that wait for etcd: record it instead.
		intents := make([]Intent, len(ips))
		for i, ip := range ips {
			intents[i] = Intent{IP: ip.Unmap(), Before: a.now(), Reason: "release queued behind requests waiting for etcd"}
		}
		if qerr := a.intents.Add(intents...); qerr != nil {
			return nil, false, fmt.Errorf("%w; and recording the release for later failed: %w", err, qerr)
		}
		return nil, true, nil
	}
	defer a.unlock()
	intents := a.intentsFor(ips)
	notAllocated, err = a.release(ctx, ips, nil)
	if err == nil || !errors.Is(err, ErrUnavailable) {
		return notAllocated, false, err
	}
	if qerr := a.intents.Add(intents...); qerr != nil {
		return notAllocated, false, fmt.Errorf("%w; and recording the release for later failed: %w", err, qerr)
	}
	slog.Warn("ipam: etcd does not answer; release recorded and applied when it does", "ips", ips, "err", err)
	return nil, true, nil
}

// releaseLockWait bounds how long a durable release waits for the node's
// other IPAM operations before it records an intent instead.
const releaseLockWait = 4 * time.Second

// intentsFor builds release intents for ips, naming the holder the cache
// knows (the network driver re-owned them through this allocator).
func (a *Allocator) intentsFor(ips []netip.Addr) []Intent {
	now := a.now()
	out := make([]Intent, 0, len(ips))
	for _, ip := range ips {
		in := Intent{IP: ip.Unmap(), Before: now, Reason: "release that etcd did not answer"}
		for cidr, c := range a.cache {
			if cidr.Contains(in.IP) {
				if at, ok := c.b.holder(ordinal(cidr, in.IP)); ok {
					in.Handle = at.handle()
				}
			}
		}
		out = append(out, in)
	}
	return out
}

// release frees ips (only allocations match accepts, when it is set).
func (a *Allocator) release(ctx context.Context, ips []netip.Addr, match func(attribute) bool) ([]netip.Addr, error) {
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
		missing, err := a.releaseIn(ctx, cidr, byBlock[cidr], match, nil)
		notAllocated = append(notAllocated, missing...)
		if err != nil {
			return notAllocated, fmt.Errorf("release addresses in block %s: %w", cidr, err)
		}
	}
	return notAllocated, nil
}

// onlyHandle matches allocations of one handle.
func onlyHandle(h string) func(attribute) bool {
	return func(at attribute) bool { return at.handle() == h }
}

// releaseIn frees ips of one block; stale is nil or holds the handle key
// of each address, to delete if the block says the key is stale.
func (a *Allocator) releaseIn(ctx context.Context, cidr netip.Prefix, ips []netip.Addr, match func(attribute) bool, stale []string) ([]netip.Addr, error) {
	const chunk = maxPerTxn / 2 // each address may cost two deletes
	var missing []netip.Addr
	for i := 0; i < len(ips); i += chunk {
		j := min(i+chunk, len(ips))
		var st []string
		if stale != nil {
			st = stale[i:j]
		}
		m, err := a.releaseChunk(ctx, cidr, ips[i:j], match, st)
		missing = append(missing, m...)
		if err != nil {
			return missing, err
		}
	}
	return missing, nil
}

// releaseChunk frees ips of one block in one compare-and-swap, deleting
// their handle records (and the stale keys given) in the same transaction.
func (a *Allocator) releaseChunk(ctx context.Context, cidr netip.Prefix, ips []netip.Addr, match func(attribute) bool, stale []string) ([]netip.Addr, error) {
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
		ops := make([]datastore.Op, 0, len(ips)+len(stale))
		for _, ip := range ips {
			ord := ordinal(cidr, ip)
			at, ok := nb.holder(ord)
			if !ok || (match != nil && !match(at)) {
				missing = append(missing, ip)
				continue
			}
			nb.release(ord)
			k := handleKey(at.handle(), ip)
			deleted[k] = true
			ops = append(ops, datastore.Del(k))
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
				ops = append(ops, datastore.Del(k))
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
	t := datastore.Txn{If: []datastore.Cond{{Key: blockKey(cidr), ModRevision: rev}}}
	for _, k := range keys {
		t.Then = append(t.Then, datastore.Del(k))
	}
	if _, err := a.commitTxn(ctx, "delete stale handle records of block "+cidr.String(), t); err != nil {
		return err
	}
	slog.Warn("ipam: deleted stale handle records", "block", cidr, "keys", keys)
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
	return a.releaseHandle(ctx, handle)
}

// ReleaseByHandleDurably is ReleaseByHandle for callers that cannot
// retry: when etcd does not answer, the release is recorded as an intent
// and applied once it does (queued reports that; err is then nil).
func (a *Allocator) ReleaseByHandleDurably(ctx context.Context, handle string) (queued bool, err error) {
	err = a.ReleaseByHandle(ctx, handle)
	if a.intents == nil || !errors.Is(err, ErrUnavailable) {
		return false, err
	}
	in := Intent{Handle: handle, Before: a.now(), Reason: "release of a handle that etcd did not answer"}
	if qerr := a.intents.Add(in); qerr != nil {
		return false, fmt.Errorf("%w; and recording the release for later failed: %w", err, qerr)
	}
	return true, nil
}

// releaseHandle is ReleaseByHandle with the lock held.
func (a *Allocator) releaseHandle(ctx context.Context, handle string) error {
	kvs, err := a.listKeys(ctx, handleKeyPrefix(handle), false)
	if err != nil {
		return fmt.Errorf("read handle %q: %w", handle, err)
	}
	if len(kvs) == 0 {
		return fmt.Errorf("release handle %q: %w", handle, ErrHandleNotFound)
	}
	byBlock := map[netip.Prefix][]netip.Addr{}
	staleKeys := map[netip.Prefix][]string{}
	var order []netip.Prefix
	for _, kv := range kvs {
		_, ip, ok := parseHandleKey(kv.Key)
		if !ok {
			slog.Warn("ipam: deleting a malformed handle key", "key", kv.Key)
			if err := a.deleteKeys(ctx, []string{kv.Key}); err != nil {
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
				if err := a.deleteKeys(ctx, []string{kv.Key}); err != nil {
					return err
				}
				continue
			}
		}
		if byBlock[cidr] == nil {
			order = append(order, cidr)
		}
		byBlock[cidr] = append(byBlock[cidr], ip)
		staleKeys[cidr] = append(staleKeys[cidr], kv.Key)
	}
	for _, cidr := range order {
		if _, err := a.releaseIn(ctx, cidr, byBlock[cidr], onlyHandle(handle), staleKeys[cidr]); err != nil {
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
