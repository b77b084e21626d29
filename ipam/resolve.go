package ipam

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// Outcome-uncertain writes.
//
// When a block write gets no answer (etcd stopped, killed, partitioned,
// or the deadline passed), etcd may or may not have applied it. resolve
// reads the block back, on a context of its own, and decides: if the
// stored block carries every change the write made, it was applied.
// Otherwise it has not applied yet, but it may still be queued in etcd
// (a frozen or restarting server applies what it had received), so the
// block is fenced: rewritten unchanged, which moves its revision on so
// the lost compare-and-swap can never succeed; then the caller retries
// against the block as now stored. When the read-back fails too, the block
// is dropped from the cache and marked for a reload (so the allocator
// re-reads it instead of abandoning it and claiming another), and the
// changes that may have landed are recorded as release intents (see
// Intents): an allocation that may exist is released once etcd answers,
// and a release that may not have happened is applied then. The caller
// gets an error wrapping ErrUnavailable.

// resolve settles a block write that failed with err.
func (a *Allocator) resolve(ctx context.Context, old *cachedBlock, nb *block, val []byte, err error) (bool, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*a.callTimeout)
	defer cancel()
	key := blockKey(nb.cidr)
	for range 3 {
		kv, ok, rerr := a.getKey(rctx, key)
		if rerr != nil {
			break
		}
		if ok && (bytes.Equal(kv.Value, val) || carries(kv.Value, old, nb)) {
			// Cache what is stored: later writers may have changed
			// other addresses of the block since.
			if _, derr := a.remember(nb.cidr, kv.Value, kv.ModRevision); derr != nil {
				return false, derr
			}
			slog.Info("ipam: a block write whose answer was lost was applied", "block", nb.cidr, "err", err)
			return true, nil
		}
		// Not applied yet. The lost write may still be queued in etcd:
		// fence it off so it can never apply, then retry afresh.
		fenced, ferr := a.fence(rctx, old, nb, kv, ok)
		if ferr != nil {
			break
		}
		if fenced {
			return false, nil
		}
	}
	delete(a.cache, nb.cidr)
	a.primed[family(nb.cidr.Addr())] = false // reload this node's blocks, this one included
	intents := undoIntents(old, nb, a.now())
	if a.intents != nil && len(intents) > 0 {
		if qerr := a.intents.Add(intents...); qerr != nil {
			slog.Error("ipam: could not record release intents; the addresses leak until the GC frees them", "intents", intents, "err", qerr)
		} else {
			slog.Warn("ipam: block write outcome unknown; recorded release intents to apply when etcd answers", "block", nb.cidr, "intents", len(intents))
		}
	}
	return false, fmt.Errorf("write block %s (outcome unknown, recorded for release): %w", nb.cidr, err)
}

// fence makes sure a lost write (a compare-and-swap on old's revision, or
// create-if-absent when old is nil) can no longer apply: true when it
// cannot, with the cache holding the block as it now is. The block read
// back is kv (absent when !ok). When the block still is where the lost
// write expects it, fence rewrites it unchanged (or, for a create, creates
// it empty with nb's affinity), which moves its revision on; false when
// that write lost a race (the caller reads again).
func (a *Allocator) fence(ctx context.Context, old *cachedBlock, nb *block, kv datastore.KV, ok bool) (bool, error) {
	key := blockKey(nb.cidr)
	var t datastore.Txn
	switch {
	case old != nil && (!ok || kv.ModRevision != old.rev), old == nil && ok:
		// The block moved on: the lost write's condition can never hold.
		if !ok {
			delete(a.cache, nb.cidr)
			return true, nil
		}
		_, err := a.remember(nb.cidr, kv.Value, kv.ModRevision)
		return err == nil, err
	case old != nil:
		t = datastore.Txn{If: []datastore.Cond{datastore.At(key, old.rev)}, Then: []datastore.Op{datastore.Put(key, kv.Value)}}
	default:
		empty := newBlock(nb.cidr, nb.affinity)
		val, err := empty.encode()
		if err != nil {
			return false, err
		}
		t = datastore.Txn{If: []datastore.Cond{datastore.Absent(key)}, Then: []datastore.Op{datastore.Put(key, val)}}
		if nb.affinity == a.node {
			t.Then = append(t.Then, datastore.Put(affinityKey(a.node, nb.cidr), []byte(affinityValue)))
		}
		kv.Value = val
	}
	res, err := a.commitTxn(ctx, "fence block "+nb.cidr.String(), t)
	if err != nil || !res.Succeeded {
		return false, err
	}
	_, err = a.remember(nb.cidr, kv.Value, res.Revision)
	return err == nil, err
}

// carries reports whether the stored block holds every change from old
// to nb: each ordinal nb allocated or re-owned is held with nb's
// attribute, and each ordinal nb freed is free.
func carries(stored []byte, old *cachedBlock, nb *block) bool {
	sb, err := decodeBlock(stored)
	if err != nil || sb.cidr != nb.cidr {
		return false
	}
	for ord := range nb.alloc {
		want, wantHeld := nb.holder(ord)
		if old != nil {
			was, wasHeld := old.b.holder(ord)
			if wasHeld == wantHeld && sameAttr(was, want) {
				continue
			}
		} else if !wantHeld {
			continue
		}
		got, gotHeld := sb.holder(ord)
		if gotHeld != wantHeld || (wantHeld && !sameAttr(got, want)) {
			return false
		}
	}
	return true
}

func sameAttr(x, y attribute) bool {
	xj, xe := x.json()
	yj, ye := y.json()
	return xe == nil && ye == nil && bytes.Equal(xj, yj)
}

// undoIntents returns, for a write whose outcome is unknown, what must be
// released once etcd answers: each address nb newly allocated (only while
// its new handle holds it) and each address nb freed (only while its old
// handle holds it, and only an allocation made before now). A re-owned
// address is left to its caller: the network driver's CreateEndpoint
// fails and Docker releases the address.
func undoIntents(old *cachedBlock, nb *block, now time.Time) []Intent {
	var out []Intent
	for ord := range nb.alloc {
		want, wantHeld := nb.holder(ord)
		var was attribute
		wasHeld := false
		if old != nil {
			was, wasHeld = old.b.holder(ord)
		}
		ip := addrAt(nb.cidr, ord)
		switch {
		case wantHeld && !wasHeld:
			out = append(out, Intent{IP: ip, Handle: want.handle(), Before: now, Reason: "allocation whose write got no answer"})
		case !wantHeld && wasHeld:
			out = append(out, Intent{IP: ip, Handle: was.handle(), Before: now, Reason: "release whose write got no answer"})
		}
	}
	return out
}
