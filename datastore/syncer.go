package datastore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// The syncer: the one reader of etcd's state for the daemon. It runs one
// list+watch per key space — every Calico v3 resource, and the IPAM
// blocks and affinities — decodes each stored object exactly once into
// model types and hands typed events to one sink (the cache). On any
// watch failure (compaction, etcd restart, lost leader) it lists the key
// space again from scratch and sends it as a Full event; the sink diffs.

// Syncer defaults.
const (
	// DefaultListTimeout bounds one list of a key space.
	DefaultListTimeout = 30 * time.Second
	// maxBackoff bounds the wait between two attempts of a key space.
	maxBackoff = 5 * time.Second
)

// SyncerConfig configures a Syncer.
type SyncerConfig struct {
	ListTimeout time.Duration // default DefaultListTimeout
	Logger      *slog.Logger  // default slog.Default()
}

// Syncer lists and watches the key spaces. Create it with NewSyncer.
type Syncer struct {
	s      *Store
	cfg    SyncerConfig
	spaces []keySpace
	// beforeWatch, when set (tests), runs between a key space's list and
	// its watch: the place to compact etcd past the watch's revision.
	beforeWatch func(space string, rev int64)
}

// keySpace is one list+watch: a watched prefix, the prefixes listed (at
// one revision), the kinds a Full event of it covers, and the decoder of
// its keys (false: not ours, skip).
type keySpace struct {
	name   string
	watch  string
	lists  []string
	kinds  []string
	decode func(key string, value []byte, modRev int64, deleted bool) (model.Update, bool, error)
}

// NewSyncer returns a Syncer over s; nothing runs before Run.
func (s *Store) NewSyncer(cfg SyncerConfig) *Syncer {
	if cfg.ListTimeout <= 0 {
		cfg.ListTimeout = DefaultListTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var kinds []string
	for _, k := range resources.Kinds() {
		kinds = append(kinds, k.Kind)
	}
	return &Syncer{s: s, cfg: cfg, spaces: []keySpace{
		{name: "resources", watch: resourcePrefix, lists: []string{resourcePrefix}, kinds: kinds, decode: internedResources()},
		{name: "ipam", watch: IPAMPrefix, lists: []string{BlockPrefix, AffinityPrefix},
			kinds: []string{model.KindBlock, model.KindAffinity}, decode: decodeIPAM},
	}}
}

// Run syncs every key space until ctx ends, calling fn with each space's
// events from that space's own goroutine (so fn is called concurrently,
// once per space at most at a time, each space's events in order). Every
// space starts with a Full event. It returns ctx.Err().
func (y *Syncer) Run(ctx context.Context, fn func(model.SyncEvent)) error {
	done := make(chan struct{}, len(y.spaces))
	for _, sp := range y.spaces {
		go func() {
			y.runSpace(ctx, sp, fn)
			done <- struct{}{}
		}()
	}
	for range y.spaces {
		<-done
	}
	return ctx.Err()
}

// runSpace lists then watches one key space, listing again after any
// failure with a backoff (reset once a watch has run for a while).
func (y *Syncer) runSpace(ctx context.Context, sp keySpace, fn func(model.SyncEvent)) {
	log := y.cfg.Logger.With("component", "syncer", "keySpace", sp.name)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		rev, err := y.list(ctx, sp, fn)
		if err == nil && y.beforeWatch != nil {
			y.beforeWatch(sp.name, rev)
		}
		if err == nil {
			err = y.watch(ctx, sp, rev+1, fn)
		}
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		log.Warn("Datastore sync restarting with a fresh list", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// list reads the space's prefixes at one revision and sends them as one
// Full event. It returns the revision read at.
func (y *Syncer) list(ctx context.Context, sp keySpace, fn func(model.SyncEvent)) (int64, error) {
	lctx, cancel := context.WithTimeout(ctx, y.cfg.ListTimeout)
	defer cancel()
	var rev int64
	var ups []model.Update
	for _, prefix := range sp.lists {
		opts := []clientv3.OpOption{clientv3.WithPrefix()}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := y.s.cli.Get(lctx, prefix, opts...)
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			u, ok, err := sp.decode(string(kv.Key), kv.Value, kv.ModRevision, false)
			if err != nil {
				y.cfg.Logger.Warn("Skipping undecodable object", "key", string(kv.Key), "err", err)
			}
			if ok && err == nil {
				ups = append(ups, u)
			}
		}
	}
	fn(model.SyncEvent{Full: true, Kinds: sp.kinds, Updates: ups, Revision: rev})
	return rev, nil
}

// watch follows the space from rev until the watch fails or ctx ends.
// Deletes carry only the key, which is all a delete needs.
func (y *Syncer) watch(ctx context.Context, sp keySpace, rev int64, fn func(model.SyncEvent)) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := y.s.cli.Watch(wctx, sp.watch, clientv3.WithPrefix(), clientv3.WithRev(rev))
	for resp := range wch {
		if err := resp.Err(); err != nil {
			if errors.Is(err, rpctypes.ErrCompacted) {
				return fmt.Errorf("watch %s from revision %d: compacted at %d: %w", sp.watch, rev, resp.CompactRevision, err)
			}
			return fmt.Errorf("watch %s from revision %d: %w", sp.watch, rev, err)
		}
		var ups []model.Update
		for _, ev := range resp.Events {
			deleted := ev.Type == clientv3.EventTypeDelete
			u, ok, err := sp.decode(string(ev.Kv.Key), ev.Kv.Value, ev.Kv.ModRevision, deleted)
			if err != nil {
				// A value we cannot read is as good as gone: consumers
				// must not keep acting on its previous value.
				y.cfg.Logger.Warn("Undecodable object; treating it as deleted", "key", string(ev.Kv.Key), "err", err)
				u.Object, u.Block, u.Affinity = nil, nil, nil
			}
			if ok {
				ups = append(ups, u)
			}
		}
		rev = resp.Header.Revision + 1
		if len(ups) > 0 {
			fn(model.SyncEvent{Updates: ups, Revision: resp.Header.Revision})
		}
	}
	return fmt.Errorf("watch %s closed at revision %d", sp.watch, rev)
}

// decodeResource turns a resource key (and value) into an Update.
func decodeResource(key string, value []byte, modRev int64, deleted bool) (model.Update, bool, error) {
	kind := kindOfKey(key)
	if kind == "" {
		return model.Update{}, false, nil
	}
	ns, name := splitName(kind, key)
	u := model.Update{Kind: kind, Namespace: ns, Name: name, Revision: modRev}
	if deleted {
		return u, true, nil
	}
	obj, err := decode(kind, value, modRev)
	if err != nil {
		return u, true, err
	}
	u.Object = obj
	return u, true, nil
}

// internedResources returns decodeResource with the objects' common
// strings and label maps shared (see interner), for one key space's
// goroutine.
func internedResources() func(string, []byte, int64, bool) (model.Update, bool, error) {
	in := newInterner()
	return func(key string, value []byte, modRev int64, deleted bool) (model.Update, bool, error) {
		u, ok, err := decodeResource(key, value, modRev, deleted)
		if u.Object != nil {
			in.object(u.Object)
		}
		return u, ok, err
	}
}

// decodeIPAM turns a block or affinity key (and value) into an Update;
// handles and anything else under the IPAM prefix are skipped.
func decodeIPAM(key string, value []byte, modRev int64, deleted bool) (model.Update, bool, error) {
	if rest, ok := strings.CutPrefix(key, BlockPrefix); ok {
		cidr, ok := blockOfKey(rest)
		if !ok {
			return model.Update{}, false, nil
		}
		u := model.Update{Kind: model.KindBlock, Name: cidr.String(), Revision: modRev}
		if deleted {
			return u, true, nil
		}
		b, err := model.DecodeBlock(value)
		if err == nil && b.CIDR != cidr {
			err = fmt.Errorf("block at key %s holds cidr %s", key, b.CIDR)
		}
		if err != nil {
			return u, true, err
		}
		u.Block = b
		return u, true, nil
	}
	if rest, ok := strings.CutPrefix(key, AffinityPrefix); ok {
		node, tail, ok := strings.Cut(rest, "/")
		if !ok {
			return model.Update{}, false, nil
		}
		cidr, ok := blockOfKey(tail)
		if !ok {
			return model.Update{}, false, nil
		}
		u := model.Update{Kind: model.KindAffinity, Namespace: node, Name: cidr.String(), Revision: modRev}
		if !deleted {
			u.Affinity = model.DecodeAffinity(node, cidr, value)
		}
		return u, true, nil
	}
	return model.Update{}, false, nil
}

// blockOfKey parses "<ipv4|ipv6>/block/<addr>-<bits>".
func blockOfKey(s string) (netip.Prefix, bool) {
	_, s, ok := strings.Cut(s, "/block/")
	if !ok {
		return netip.Prefix{}, false
	}
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s[:i] + "/" + s[i+1:])
	if err != nil || p != p.Masked() {
		return netip.Prefix{}, false
	}
	return p, true
}

func splitName(kind, key string) (namespace, name string) {
	prefix, _ := listPrefix(kind, "")
	rest := key[len(prefix):]
	k, _ := resources.Lookup(kind)
	if k.Namespaced {
		if ns, name, ok := strings.Cut(rest, "/"); ok {
			return ns, name
		}
	}
	return "", rest
}
