package cache

import (
	"sync"

	"github.com/calico-docker/calico-libnetwork/model"
)

// sub is one subscriber: a queue the cache fills under its lock without
// ever blocking, and a goroutine that drains it into fn.
type sub struct {
	name     string
	kinds    map[string]bool
	kindList []string
	fn       func(model.SyncEvent)

	mu      sync.Mutex
	started bool // the Full snapshot has been queued
	full    bool // the queued batch is the Full snapshot (plus later changes)
	queue   []model.Update
	pos     map[model.Key]int // queued position of each object
	rev     int64
	wake    chan struct{} // buffer 1
	done    chan struct{}
}

// Subscribe calls fn, from a goroutine of its own, first with one Full
// event holding every object of kinds (once all of them have been listed
// from the datastore), then with the changes in order, batched and
// coalesced while fn is busy (see the package documentation for the
// bound). cancel stops the deliveries; a call of fn in progress finishes.
// name labels the subscriber in logs.
func (c *Cache) Subscribe(name string, kinds []string, fn func(model.SyncEvent)) (cancel func()) {
	s := &sub{name: name, kinds: map[string]bool{}, kindList: append([]string(nil), kinds...), fn: fn,
		pos: map[model.Key]int{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	for _, k := range kinds {
		if !c.want[k] {
			c.cfg.Logger.Error("Subscription to an unknown kind: it will never be synced", "subscriber", name, "kind", k)
		}
		s.kinds[k] = true
	}
	c.mu.Lock()
	c.subs[s] = struct{}{}
	s.offer(c, nil, c.rev)
	c.mu.Unlock()
	go s.run()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			delete(c.subs, s)
			c.mu.Unlock()
			close(s.done)
		})
	}
}

// offer queues changes (or, the first time every kind is synced, the
// snapshot); c.mu is held. It never blocks.
func (s *sub) offer(c *Cache, changes []model.Update, rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.started && !c.syncedAll(s.kindList):
		return // the snapshot, when it comes, will hold these changes
	case !s.started:
		s.started, s.full = true, true
		s.queue = c.snapshot(s.kinds)
		for i, u := range s.queue {
			s.pos[u.Key()] = i
		}
	default:
		n := len(s.queue)
		for _, u := range changes {
			if !s.kinds[u.Kind] {
				continue
			}
			if i, ok := s.pos[u.Key()]; ok {
				s.queue[i] = u // coalesce: the latest value, at the earliest place
				continue
			}
			s.pos[u.Key()] = len(s.queue)
			s.queue = append(s.queue, u)
		}
		if len(s.queue) == n && !s.full {
			return
		}
	}
	s.rev = max(s.rev, rev)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run delivers queued batches until the subscription is cancelled.
func (s *sub) run() {
	for {
		select {
		case <-s.done:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		ev := model.SyncEvent{Full: s.full, Updates: s.queue, Revision: s.rev}
		s.queue, s.full = nil, false
		if len(s.pos) > 1024 {
			s.pos = map[model.Key]int{} // let a snapshot-sized map go
		} else {
			clear(s.pos)
		}
		s.mu.Unlock()
		if ev.Full {
			ev.Kinds = s.kindList
			ev.Updates = dropDeletes(ev.Updates)
		} else if len(ev.Updates) == 0 {
			continue
		}
		select {
		case <-s.done:
			return
		default:
		}
		s.fn(ev)
	}
}

// dropDeletes removes deletions from a snapshot (an object deleted before
// the snapshot was delivered is simply absent from it).
func dropDeletes(ups []model.Update) []model.Update {
	out := ups[:0]
	for _, u := range ups {
		if !u.Deleted() {
			out = append(out, u)
		}
	}
	return out
}
