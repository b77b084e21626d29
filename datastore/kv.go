package datastore

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The one compare-and-swap path. Every write this product makes to etcd
// (resources, IPAM blocks, affinities and handles, the driver's network
// records) is a Txn: a list of conditions on keys' revisions and, when
// they all hold, a list of puts and deletes, applied atomically. Packages
// with their own stored encodings (ipam, the driver's records) use these
// calls with keys from this package's key layout; nobody else holds an
// etcd client.

// KV is one stored key as read.
type KV struct {
	Key            string
	Value          []byte
	ModRevision    int64
	CreateRevision int64
}

// Cond requires Key to be at ModRevision, or absent when ModRevision is 0.
// With Prefix, it requires instead that no key under Key was created or
// modified after ModRevision (see UnchangedSince).
type Cond struct {
	Key         string
	ModRevision int64
	Prefix      bool
}

// UnchangedSince is the condition that no object of kind (in namespace,
// for a namespaced kind) was created or modified after revision rev, the
// revision a list of them was read at: a write checked against that list
// commits only if the list still holds. Deletions do not break it.
func UnchangedSince(kind, namespace string, rev int64) (Cond, error) {
	prefix, err := listPrefix(kind, namespace)
	if err != nil {
		return Cond{}, err
	}
	return Cond{Key: prefix, ModRevision: rev, Prefix: true}, nil
}

// Absent is the condition that key does not exist.
func Absent(key string) Cond { return Cond{Key: key} }

// At is the condition that key is at revision rev.
func At(key string, rev int64) Cond { return Cond{Key: key, ModRevision: rev} }

// Op is one put (Delete false) or delete of a key.
type Op struct {
	Key    string
	Value  []byte
	Delete bool
}

// Put returns a put of value at key.
func Put(key string, value []byte) Op { return Op{Key: key, Value: value} }

// Del returns a delete of key.
func Del(key string) Op { return Op{Key: key, Delete: true} }

// Txn is one atomic compare-and-swap.
type Txn struct {
	If   []Cond
	Then []Op
	// ReadOnFail lists keys to read, in the same transaction, when a
	// condition fails, so the caller can refresh what it holds without
	// another round trip.
	ReadOnFail []string
}

// TxnResult is what a committed Txn reports.
type TxnResult struct {
	Succeeded bool
	Revision  int64 // the store's revision after the transaction
	// Read holds, when !Succeeded, the current value of each
	// Txn.ReadOnFail key (absent keys are missing from the map).
	Read map[string]KV
}

// Commit runs t. An error means the outcome is unknown (etcd unreachable,
// deadline passed): the caller must read back before assuming either.
func (s *Store) Commit(ctx context.Context, t Txn) (TxnResult, error) {
	cmps := make([]clientv3.Cmp, len(t.If))
	for i, c := range t.If {
		cmps[i] = c.cmp()
	}
	then := make([]clientv3.Op, len(t.Then))
	for i, op := range t.Then {
		if op.Delete {
			then[i] = clientv3.OpDelete(op.Key)
		} else {
			then[i] = clientv3.OpPut(op.Key, string(op.Value))
		}
	}
	els := make([]clientv3.Op, len(t.ReadOnFail))
	for i, k := range t.ReadOnFail {
		els[i] = clientv3.OpGet(k)
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(then...).Else(els...).Commit()
	if err != nil {
		return TxnResult{}, err
	}
	res := TxnResult{Succeeded: resp.Succeeded, Revision: resp.Header.Revision}
	if !resp.Succeeded && len(els) > 0 {
		res.Read = map[string]KV{}
		for _, r := range resp.Responses {
			for _, kv := range r.GetResponseRange().Kvs {
				res.Read[string(kv.Key)] = kvOf(kv.Key, kv.Value, kv.ModRevision, kv.CreateRevision)
			}
		}
	}
	return res, nil
}

func (c Cond) cmp() clientv3.Cmp {
	switch {
	case c.Prefix:
		// Every key in the range (none: a zero revision) is older.
		return clientv3.Compare(clientv3.ModRevision(c.Key).WithPrefix(), "<", c.ModRevision+1)
	case c.ModRevision == 0:
		return clientv3.Compare(clientv3.CreateRevision(c.Key), "=", 0)
	}
	return clientv3.Compare(clientv3.ModRevision(c.Key), "=", c.ModRevision)
}

// GetKey reads one key; ok is false when it does not exist.
func (s *Store) GetKey(ctx context.Context, key string) (kv KV, ok bool, err error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return KV{}, false, fmt.Errorf("read %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return KV{}, false, nil
	}
	k := resp.Kvs[0]
	return kvOf(k.Key, k.Value, k.ModRevision, k.CreateRevision), true, nil
}

// ListKeys reads every key under prefix and the revision it was read at.
// With keysOnly the values are left out.
func (s *Store) ListKeys(ctx context.Context, prefix string, keysOnly bool) ([]KV, int64, error) {
	opts := []clientv3.OpOption{clientv3.WithPrefix()}
	if keysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	resp, err := s.cli.Get(ctx, prefix, opts...)
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", prefix, err)
	}
	out := make([]KV, len(resp.Kvs))
	for i, k := range resp.Kvs {
		out[i] = kvOf(k.Key, k.Value, k.ModRevision, k.CreateRevision)
	}
	return out, resp.Header.Revision, nil
}

// CountKeys counts the keys under prefix without reading them.
func (s *Store) CountKeys(ctx context.Context, prefix string) (int64, error) {
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", prefix, err)
	}
	return resp.Count, nil
}

func kvOf(key, value []byte, mod, create int64) KV {
	return KV{Key: string(key), Value: value, ModRevision: mod, CreateRevision: create}
}
