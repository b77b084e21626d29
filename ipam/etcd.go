package ipam

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// Every etcd call the allocator makes goes through package datastore's
// one compare-and-swap path (Commit, GetKey, GetKeys, ListKeys) under its
// own deadline, so a stopped or unreachable etcd fails a request within
// a few seconds, with ErrUnavailable, instead of at the caller's deadline.

// DefaultCallTimeout bounds one etcd call of the allocator.
const DefaultCallTimeout = 3 * time.Second

// probeTimeout bounds a call while etcd is known not to answer (the last
// call ran out of time): requests queued behind each other then fail in
// well under a second each instead of DefaultCallTimeout, and the first
// call that gets an answer ends that state.
const probeTimeout = 500 * time.Millisecond

// ErrUnavailable: etcd did not answer in time. For a write, the outcome
// is unknown until read back.
var ErrUnavailable = errors.New("etcd did not answer: check that etcd is running and reachable (ETCD_ENDPOINTS), then retry")

// call runs fn with the per-call deadline and names op in its error. A
// call that ran out of its own time (not the caller's) wraps ErrUnavailable.
func (a *Allocator) call(ctx context.Context, op string, fn func(context.Context) error) error {
	timeout := a.callTimeout
	if a.down.Load() {
		timeout = min(timeout, probeTimeout)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := fn(cctx)
	if err == nil {
		a.down.Store(false)
		return nil
	}
	if ctx.Err() == nil && (cctx.Err() != nil || datastore.Unreachable(err)) {
		a.down.Store(true)
		return fmt.Errorf("%s: no answer within %v: %w (%w)", op, timeout, ErrUnavailable, err)
	}
	a.down.Store(false)
	return fmt.Errorf("%s: %w", op, err)
}

// commitTxn runs one compare-and-swap.
func (a *Allocator) commitTxn(ctx context.Context, op string, t datastore.Txn) (datastore.TxnResult, error) {
	var res datastore.TxnResult
	err := a.call(ctx, op, func(c context.Context) (err error) {
		res, err = a.store.Commit(c, t)
		return err
	})
	return res, err
}

// getKey reads one key.
func (a *Allocator) getKey(ctx context.Context, key string) (kv datastore.KV, ok bool, err error) {
	err = a.call(ctx, "read "+key, func(c context.Context) (err error) {
		kv, ok, err = a.store.GetKey(c, key)
		return err
	})
	return kv, ok, err
}

// getKeys reads several keys in one round trip.
func (a *Allocator) getKeys(ctx context.Context, keys []string, keysOnly bool) (map[string]datastore.KV, error) {
	var out map[string]datastore.KV
	err := a.call(ctx, fmt.Sprintf("read %d IPAM keys", len(keys)), func(c context.Context) (err error) {
		out, _, err = a.store.GetKeys(c, keys, keysOnly)
		return err
	})
	return out, err
}

// listKeys lists every key under prefix.
func (a *Allocator) listKeys(ctx context.Context, prefix string, keysOnly bool) ([]datastore.KV, error) {
	var out []datastore.KV
	err := a.call(ctx, "list "+prefix, func(c context.Context) (err error) {
		out, _, err = a.store.ListKeys(c, prefix, keysOnly)
		return err
	})
	return out, err
}

// deleteKeys deletes keys unconditionally, many per transaction.
func (a *Allocator) deleteKeys(ctx context.Context, keys []string) error {
	for i := 0; i < len(keys); i += maxTxnOps {
		chunk := keys[i:min(i+maxTxnOps, len(keys))]
		ops := make([]datastore.Op, len(chunk))
		for j, k := range chunk {
			ops[j] = datastore.Del(k)
		}
		if _, err := a.commitTxn(ctx, "delete stale IPAM records", datastore.Txn{Then: ops}); err != nil {
			return err
		}
	}
	return nil
}
