package cache

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Config configures a Cache.
type Config struct {
	// Node is this host's node name: EndpointsOfSandbox answers for its
	// endpoints only (sandbox paths are host-local).
	Node   string
	Logger *slog.Logger // default slog.Default()
}

// name identifies an object within its kind.
type name struct{ ns, name string }

// item is one held object: exactly one of res, blk, aff is set.
type item struct {
	res resources.Resource
	blk *model.Block
	aff *model.Affinity
	rev int64
}

// Cache holds the datastore's objects, indexed. It is safe for concurrent
// use; Apply may be called from several goroutines (one per key space).
type Cache struct {
	cfg Config

	mu      sync.Mutex
	objs    map[string]map[name]item // kind -> object
	synced  map[string]bool          // kinds listed at least once
	rev     int64                    // highest revision applied
	idx     indexes
	subs    map[*sub]struct{}
	syncedC chan struct{} // closed once every kind of one syncer has been listed (see WaitSynced)
	want    map[string]bool
}

// New returns an empty cache.
func New(cfg Config) *Cache {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	want := map[string]bool{model.KindBlock: true, model.KindAffinity: true}
	for _, k := range resources.Kinds() {
		want[k.Kind] = true
	}
	return &Cache{cfg: cfg, objs: map[string]map[name]item{}, synced: map[string]bool{}, idx: newIndexes(),
		subs: map[*sub]struct{}{}, syncedC: make(chan struct{}), want: want}
}

// WaitSynced waits until every key space has been listed once (every
// resource kind, IPAM blocks and affinities), or ctx ends.
func (c *Cache) WaitSynced(ctx context.Context) error {
	select {
	case <-c.syncedC:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Synced reports whether every one of kinds has been listed once.
func (c *Cache) Synced(kinds ...string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.syncedAll(kinds)
}

func (c *Cache) syncedAll(kinds []string) bool {
	for _, k := range kinds {
		if !c.synced[k] {
			return false
		}
	}
	return true
}

// Apply applies one syncer event (datastore.Syncer.Run's callback). A
// Full event replaces the objects of its kinds; only what really changed
// reaches the subscribers.
func (c *Cache) Apply(ev model.SyncEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var changes []model.Update
	if ev.Full {
		changes = c.replace(ev)
	} else {
		changes = make([]model.Update, 0, len(ev.Updates))
		for _, u := range ev.Updates {
			if c.set(u) {
				changes = append(changes, c.updateOf(u.Kind, name{u.Namespace, u.Name}, u.Revision))
			}
		}
	}
	c.rev = max(c.rev, ev.Revision)
	for s := range c.subs {
		s.offer(c, changes, ev.Revision)
	}
	if ev.Full {
		c.checkSynced()
	}
}

// replace applies a Full event: every object of ev.Kinds not in it is
// deleted, every one whose revision differs is set. It returns the
// changes; c.mu is held.
func (c *Cache) replace(ev model.SyncEvent) []model.Update {
	fresh := map[string]map[name]bool{}
	for _, k := range ev.Kinds {
		fresh[k] = map[name]bool{}
	}
	var changes []model.Update
	for _, u := range ev.Updates {
		if fresh[u.Kind] == nil || u.Deleted() {
			continue
		}
		n := name{u.Namespace, u.Name}
		fresh[u.Kind][n] = true
		if c.set(u) {
			changes = append(changes, c.updateOf(u.Kind, n, u.Revision))
		}
	}
	for _, k := range ev.Kinds {
		for n, it := range c.objs[k] {
			if !fresh[k][n] {
				c.set(model.Update{Kind: k, Namespace: n.ns, Name: n.name, Revision: ev.Revision})
				changes = append(changes, model.Update{Kind: k, Namespace: n.ns, Name: n.name, Revision: max(ev.Revision, it.rev)})
			}
		}
		c.synced[k] = true
	}
	return changes
}

// set stores or deletes one object and keeps the indexes; it reports
// whether anything changed. c.mu is held.
func (c *Cache) set(u model.Update) bool {
	if !c.want[u.Kind] {
		return false
	}
	m := c.objs[u.Kind]
	if m == nil {
		m = map[name]item{}
		c.objs[u.Kind] = m
	}
	n := name{u.Namespace, u.Name}
	old, had := m[n]
	if u.Deleted() {
		if !had {
			return false
		}
		delete(m, n)
		c.idx.remove(c.cfg.Node, u.Kind, n, old)
		return true
	}
	if had && old.rev == u.Revision && u.Revision != 0 {
		return false // the same stored value (a re-list of an unchanged object)
	}
	it := item{res: u.Object, blk: u.Block, aff: u.Affinity, rev: u.Revision}
	if had {
		c.idx.remove(c.cfg.Node, u.Kind, n, old)
	}
	m[n] = it
	c.idx.add(c.cfg.Node, u.Kind, n, it)
	return true
}

// updateOf is the update that sets the held object n of kind.
func (c *Cache) updateOf(kind string, n name, rev int64) model.Update {
	it, ok := c.objs[kind][n]
	u := model.Update{Kind: kind, Namespace: n.ns, Name: n.name, Revision: rev}
	if ok {
		u.Object, u.Block, u.Affinity, u.Revision = it.res, it.blk, it.aff, it.rev
	}
	return u
}

// checkSynced closes syncedC once every wanted kind has been listed.
func (c *Cache) checkSynced() {
	select {
	case <-c.syncedC:
		return
	default:
	}
	for k := range c.want {
		if !c.synced[k] {
			return
		}
	}
	close(c.syncedC)
}

// Revision is the highest etcd revision the cache has applied.
func (c *Cache) Revision() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rev
}

// snapshot lists every held object of kinds as updates; c.mu is held.
func (c *Cache) snapshot(kinds map[string]bool) []model.Update {
	n := 0
	for k := range kinds {
		n += len(c.objs[k])
	}
	out := make([]model.Update, 0, n)
	for k := range kinds {
		for nm := range c.objs[k] {
			out = append(out, c.updateOf(k, nm, 0))
		}
	}
	return out
}

// Len is the number of objects held of kind.
func (c *Cache) Len(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.objs[kind])
}

// Resources returns every held object of a resource kind, in no order.
func (c *Cache) Resources(kind string) []resources.Resource {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]resources.Resource, 0, len(c.objs[kind]))
	for _, it := range c.objs[kind] {
		if it.res != nil {
			out = append(out, it.res)
		}
	}
	return out
}

// Blocks returns every IPAM block, sorted by CIDR.
func (c *Cache) Blocks() []*model.Block {
	c.mu.Lock()
	out := make([]*model.Block, 0, len(c.objs[model.KindBlock]))
	for _, it := range c.objs[model.KindBlock] {
		out = append(out, it.blk)
	}
	c.mu.Unlock()
	sortBlocks(out)
	return out
}

// Block returns the block with that CIDR, if held.
func (c *Cache) Block(cidr netip.Prefix) (*model.Block, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.objs[model.KindBlock][name{"", cidr.String()}]
	return it.blk, ok
}
