package flows

import (
	"sync"
	"time"
)

// Interval is one closed aggregation interval.
type Interval struct {
	Start, End time.Time
	Flows      []Flow
	Dropped    uint64 // rows or connections not kept to stay in bounds
}

// Ring keeps the last N closed intervals and tells subscribers of each new
// one. Safe for concurrent use.
type Ring struct {
	mu     sync.Mutex
	max    int
	ivs    []Interval // oldest first
	total  uint64     // dropped over the intervals kept
	subs   map[int]chan Interval
	nextID int
}

// NewRing returns a ring of n intervals.
func NewRing(n int) *Ring { return &Ring{max: n, subs: map[int]chan Interval{}} }

// Push adds a closed interval, evicting the oldest beyond the bound, and
// offers it to every subscriber (a subscriber not keeping up misses it).
func (r *Ring) Push(iv Interval) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ivs = append(r.ivs, iv)
	r.total += iv.Dropped
	if len(r.ivs) > r.max {
		r.total -= r.ivs[0].Dropped
		r.ivs = append(r.ivs[:0], r.ivs[1:]...)
	}
	for _, ch := range r.subs {
		select {
		case ch <- iv:
		default:
		}
	}
}

// Subscribe returns a channel of intervals as they close and a cancel
// function.
func (r *Ring) Subscribe() (<-chan Interval, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.nextID
	r.nextID++
	ch := make(chan Interval, 4)
	r.subs[id] = ch
	return ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.subs, id)
	}
}

// Query returns the kept rows that f matches, newest interval first, at
// most f.Limit, and the rows dropped over the kept intervals.
func (r *Ring) Query(f Filter) ([]Flow, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []Flow{}
	for i := len(r.ivs) - 1; i >= 0 && len(out) < f.Limit; i-- {
		iv := r.ivs[i]
		if !f.Since.IsZero() && iv.End.Before(f.Since) {
			break
		}
		for _, fl := range iv.Flows {
			if f.Match(&fl) {
				out = append(out, fl)
				if len(out) == f.Limit {
					break
				}
			}
		}
	}
	return out, r.total
}
