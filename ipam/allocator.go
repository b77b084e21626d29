package ipam

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// maxAttempts bounds the compare-and-swap retries of one operation.
const maxAttempts = 64

// maxPerRequest bounds Num4/Num6 of one AutoAssign.
const maxPerRequest = 1024

// Attribute keys the allocator fills in when the caller leaves them out.
const (
	AttrNode      = "node"
	AttrTimestamp = "timestamp"
)

// Allocator allocates addresses for one node. It is safe for concurrent
// use; the mutating operations of one Allocator run one at a time (they
// share a cache of blocks), while any number of Allocators, in this or
// other processes, may work on the same etcd: every write is a
// compare-and-swap on the block's mod revision.
type Allocator struct {
	store       *datastore.Store
	node        string
	nodeErr     error
	now         func() time.Time
	callTimeout time.Duration // bounds each etcd call
	intents     *Intents      // releases not yet applied; nil: none kept
	down        atomic.Bool   // the last etcd call got no answer (see probeTimeout)

	sem     chan struct{} // held by the running mutation; guards the fields below
	cache   map[netip.Prefix]*cachedBlock
	pools   []pool            // see loadPools
	poolsAt time.Time         // when pools were read
	labels  map[string]string // this node's labels, read with pools
	primed  map[string]bool   // family -> this node's affine blocks were loaded
	// reserved are the IPReservations' CIDRs, read at the start of each
	// assignment (reservations.go) from reservationSrc, or etcd when nil.
	reserved       reservations
	reservationSrc func() []*resources.IPReservation
}

// cachedBlock is a block as last read or written, with its etcd mod revision.
type cachedBlock struct {
	b   *block
	rev int64
}

// New returns an Allocator that claims blocks for node.
func New(store *datastore.Store, node string) *Allocator {
	return &Allocator{
		store: store, node: node, nodeErr: checkID("node name", node),
		now: time.Now, callTimeout: DefaultCallTimeout, sem: make(chan struct{}, 1), cache: map[netip.Prefix]*cachedBlock{}, primed: map[string]bool{},
	}
}

// Node returns the node this Allocator claims blocks for.
func (a *Allocator) Node() string { return a.node }

// lock takes the mutation lock, giving up when ctx ends.
func (a *Allocator) lock(ctx context.Context) error {
	if a.nodeErr != nil {
		return a.nodeErr
	}
	select {
	case a.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ipam: waiting for a concurrent IPAM operation: %w", ctx.Err())
	}
}

func (a *Allocator) unlock() { <-a.sem }

// attrsFor copies the caller's attributes, adding node and timestamp.
func (a *Allocator) attrsFor(attrs map[string]string) map[string]string {
	out := maps.Clone(attrs)
	if out == nil {
		out = map[string]string{}
	}
	if _, ok := out[AttrNode]; !ok {
		out[AttrNode] = a.node
	}
	if _, ok := out[AttrTimestamp]; !ok {
		out[AttrTimestamp] = a.now().UTC().Format(time.RFC3339Nano)
	}
	return out
}

// fetch reads a block from etcd into the cache; nil when it does not exist.
func (a *Allocator) fetch(ctx context.Context, cidr netip.Prefix) (*cachedBlock, error) {
	kv, ok, err := a.getKey(ctx, blockKey(cidr))
	if err != nil {
		return nil, fmt.Errorf("read block %s: %w", cidr, err)
	}
	if !ok {
		delete(a.cache, cidr)
		return nil, nil
	}
	return a.remember(cidr, kv.Value, kv.ModRevision)
}

// remember decodes a stored block into the cache.
func (a *Allocator) remember(cidr netip.Prefix, value []byte, rev int64) (*cachedBlock, error) {
	b, err := decodeBlock(value)
	if err != nil {
		delete(a.cache, cidr)
		return nil, fmt.Errorf("block %s (key %s): %w", cidr, blockKey(cidr), err)
	}
	if b.cidr != cidr {
		return nil, fmt.Errorf("block key %s holds cidr %s: %w", blockKey(cidr), b.cidr, ErrCorrupt)
	}
	c := &cachedBlock{b: b, rev: rev}
	a.cache[cidr] = c
	return c, nil
}

// commit writes nb in one transaction together with ops: a compare-and-swap
// on old's mod revision, or create-if-absent when old is nil (then the
// node's affinity key is written too when nb has affinity to this node).
// With guard set, the transaction also requires that pool unchanged.
// It reports false when the block changed under us; the cache then holds
// the block's current value (read in the same transaction), or nothing if
// it no longer exists. It fails with errPoolChanged when guard changed.
// When etcd does not answer, the outcome is resolved by reading the block
// back (see resolve).
func (a *Allocator) commit(ctx context.Context, old *cachedBlock, nb *block, guard *pool, ops ...datastore.Op) (bool, error) {
	key := blockKey(nb.cidr)
	val, err := nb.encode()
	if err != nil {
		return false, fmt.Errorf("encode block %s: %w", nb.cidr, err)
	}
	t := datastore.Txn{If: []datastore.Cond{datastore.Absent(key)}, ReadOnFail: []string{key}}
	if old != nil {
		t.If[0] = datastore.At(key, old.rev)
	} else if nb.affinity == a.node {
		ops = append(ops, datastore.Put(affinityKey(a.node, nb.cidr), []byte(affinityValue)))
	}
	if guard != nil {
		t.If = append(t.If, datastore.At(guard.key, guard.rev))
		t.ReadOnFail = append(t.ReadOnFail, guard.key)
	}
	t.Then = append([]datastore.Op{datastore.Put(key, val)}, ops...)
	res, err := a.commitTxn(ctx, "write block "+nb.cidr.String(), t)
	if err != nil {
		return a.resolve(ctx, old, nb, val, err)
	}
	if res.Succeeded {
		a.cache[nb.cidr] = &cachedBlock{b: nb, rev: res.Revision}
		return true, nil
	}
	if kv, ok := res.Read[key]; !ok {
		delete(a.cache, nb.cidr)
	} else if _, err := a.remember(nb.cidr, kv.Value, kv.ModRevision); err != nil {
		return false, err
	}
	if guard != nil {
		if kv, ok := res.Read[guard.key]; !ok || kv.ModRevision != guard.rev {
			a.pools = nil
			return false, fmt.Errorf("IP pool %s: %w", guard.Name, errPoolChanged)
		}
	}
	return false, nil
}

// handleOps returns the puts recording ips against handle.
func handleOps(handle string, b netip.Prefix, ips []netip.Addr) []datastore.Op {
	val := []byte(`{"block":"` + b.String() + `"}`)
	ops := make([]datastore.Op, len(ips))
	for i, ip := range ips {
		ops[i] = datastore.Put(handleKey(handle, ip), val)
	}
	return ops
}
