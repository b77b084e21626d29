package datastore

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Update is one change to one object.
type Update struct {
	Kind      string
	Namespace string
	Name      string
	// Object is the new value; nil when the object was deleted.
	Object   resources.Resource
	Revision int64
}

// UpdateOf is the update that stores obj as it is.
func UpdateOf(obj resources.Resource) Update {
	m := obj.Meta()
	rev, _ := strconv.ParseInt(m.ResourceVersion, 10, 64)
	return Update{Kind: obj.GetTypeMeta().Kind, Namespace: m.Namespace, Name: m.Name, Object: obj, Revision: rev}
}

// Deleted reports whether the update removes the object.
func (u Update) Deleted() bool { return u.Object == nil }

// SyncEvent is what Sync delivers. When Full is true, Updates holds every
// object of the watched kinds as of Revision and replaces all earlier
// state (sent at start and after any watch failure, e.g. compaction).
// Otherwise Updates are the changes since the previous event.
type SyncEvent struct {
	Full     bool
	Updates  []Update
	Revision int64
}

// Sync lists the given kinds and then watches them, calling fn from a
// single goroutine until ctx ends. It survives etcd restarts and
// compactions by re-listing (a Full event). It returns ctx.Err().
func (s *Store) Sync(ctx context.Context, kinds []string, fn func(SyncEvent)) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		rev, err := s.syncFull(ctx, kinds, fn)
		if err == nil {
			err = s.watchFrom(ctx, kinds, rev+1, fn)
		}
		if ctx.Err() != nil {
			break
		}
		slog.Warn("datastore sync restarting", "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return ctx.Err()
}

func (s *Store) syncFull(ctx context.Context, kinds []string, fn func(SyncEvent)) (int64, error) {
	// One etcd Get per kind at the same revision gives a consistent snapshot.
	var rev int64
	var ups []Update
	for _, kind := range kinds {
		prefix, err := listPrefix(kind, "")
		if err != nil {
			return 0, err
		}
		opts := []clientv3.OpOption{clientv3.WithPrefix()}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, prefix, opts...)
		if err != nil {
			return 0, fmt.Errorf("list %s: %w", kind, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		k, _ := resources.Lookup(kind)
		for _, kv := range resp.Kvs {
			obj, err := decode(k.Kind, kv.Value, kv.ModRevision)
			if err != nil {
				slog.Warn("skipping undecodable object", "key", string(kv.Key), "err", err)
				continue
			}
			ups = append(ups, UpdateOf(obj))
		}
	}
	fn(SyncEvent{Full: true, Updates: ups, Revision: rev})
	return rev, nil
}

func (s *Store) watchFrom(ctx context.Context, kinds []string, rev int64, fn func(SyncEvent)) error {
	wanted := map[string]bool{}
	for _, k := range kinds {
		info, err := resources.Lookup(k)
		if err != nil {
			return err
		}
		wanted[info.Kind] = true
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.cli.Watch(wctx, resourcePrefix, clientv3.WithPrefix(), clientv3.WithRev(rev), clientv3.WithPrevKV())
	for resp := range wch {
		if err := resp.Err(); err != nil {
			return fmt.Errorf("watch from revision %d: %w", rev, err)
		}
		var ups []Update
		for _, ev := range resp.Events {
			if u, ok := toUpdate(ev, wanted); ok {
				ups = append(ups, u)
			}
		}
		rev = resp.Header.Revision + 1
		if len(ups) > 0 {
			fn(SyncEvent{Updates: ups, Revision: resp.Header.Revision})
		}
	}
	return fmt.Errorf("watch closed at revision %d", rev)
}

func toUpdate(ev *clientv3.Event, wanted map[string]bool) (Update, bool) {
	kind := kindOfKey(string(ev.Kv.Key))
	if !wanted[kind] {
		return Update{}, false
	}
	if ev.Type == clientv3.EventTypeDelete {
		ns, name := splitName(kind, string(ev.Kv.Key))
		return Update{Kind: kind, Namespace: ns, Name: name, Revision: ev.Kv.ModRevision}, true
	}
	obj, err := decode(kind, ev.Kv.Value, ev.Kv.ModRevision)
	if err != nil {
		slog.Warn("skipping undecodable object", "key", string(ev.Kv.Key), "err", err)
		return Update{}, false
	}
	return UpdateOf(obj), true
}

func splitName(kind, key string) (namespace, name string) {
	prefix, _ := listPrefix(kind, "")
	rest := key[len(prefix):]
	k, _ := resources.Lookup(kind)
	if k.Namespaced {
		for i := 0; i < len(rest); i++ {
			if rest[i] == '/' {
				return rest[:i], rest[i+1:]
			}
		}
	}
	return "", rest
}
