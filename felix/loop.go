package felix

import (
	"cmp"
	"context"
	"time"
)

// The dataplane loop: the one goroutine that programs the kernel, how
// changes wake it, and its timers.

// change applies a mutation of the desired state and wakes the loop.
func (d *Dataplane) change(mutate func()) {
	d.record(mutate)
	d.poke()
}

// record applies a mutation of the desired state.
func (d *Dataplane) record(mutate func()) {
	d.mu.Lock()
	mutate()
	d.gen++
	d.setInSync(false)
	d.mu.Unlock()
}

// setInSync updates the in-sync flag and its channel; d.mu must be held.
func (d *Dataplane) setInSync(in bool) {
	switch {
	case in && !d.status.InSync:
		close(d.syncedCh)
	case !in && d.status.InSync:
		d.syncedCh = make(chan struct{})
	}
	d.status.InSync = in
}

// pokeEndpoints wakes the loop to re-sync the endpoint side, routes read
// back from the kernel: the kernel watcher saw one of our routes go, or
// (re)subscribed.
func (d *Dataplane) pokeEndpoints() {
	d.mu.Lock()
	d.endpointsDirty, d.routesStale = true, true
	d.mu.Unlock()
	d.poke()
}

// pokeLinks wakes the loop to re-sync the endpoint side for the workload
// interfaces that changed (by name: the apply looks them up, linkcache.go).
func (d *Dataplane) pokeLinks(names []string) {
	d.mu.Lock()
	d.endpointsDirty = true
	if d.dirtyLinks == nil {
		d.dirtyLinks = map[string]bool{}
	}
	for _, n := range names {
		d.dirtyLinks[n] = true
	}
	d.mu.Unlock()
	d.poke()
}

// pokeHostAddrs notes that an address of a host interface changed, and
// wakes the loop if a host endpoint is bound by address (hostinputs.go).
func (d *Dataplane) pokeHostAddrs() {
	d.mu.Lock()
	d.hostAddrsStale = true
	d.mu.Unlock()
	if d.needHostAddrs.Load() {
		d.poke()
	}
}

// poke wakes the loop without blocking; pending pokes coalesce.
func (d *Dataplane) poke() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// pokeLazy asks the loop for an apply within applyHoldoff.
func (d *Dataplane) pokeLazy() {
	select {
	case d.lazyKick <- struct{}{}:
	default:
	}
}

// loop is the only goroutine that programs the kernel.
// It stops when ctx ends, once the kernel watcher (watching) has stopped too.
//
// A change on a quiet dataplane is applied at once. A change recorded
// while an apply runs means changes come faster than they are applied
// (remote endpoints churning across a fleet): the next apply then waits
// applyHoldoff after the end of this one and takes every change made
// meanwhile, as Calico's felix batches dataplane updates. Batching lasts
// only while changes keep arriving during applies: a writer that waits
// for each change to be programmed (a policy edit, the latency benchmark)
// never waits for the holdoff. A change of other nodes' endpoints only
// (a fleet's churn: IP set members) waits for the holdoff too, so such
// changes are applied together, at most one apply per holdoff; any other
// change applies them at once with it.
func (d *Dataplane) loop(ctx context.Context, watching <-chan struct{}) {
	defer close(d.done)
	defer d.kernel.close()
	defer func() { <-watching }() // the watcher uses the namespace handle
	defer d.kernel.removeTunnelRoutes()
	every := d.cfg.ResyncInterval
	resync := time.NewTicker(every)
	defer resync.Stop()
	var t loopTimers
	pending, full := true, true
	for {
		if pending {
			select {
			case <-d.lazyKick: // this apply takes what it asked for
			default:
			}
			err := d.apply(ctx, full)
			if err != nil && ctx.Err() != nil {
				return // stopping: the apply was cut short
			}
			t.afterApply(d, err)
			pending, full = false, false
			d.retime(resync, &every) // settings.go
		}
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
			// Held while batching: the holdoff takes it. A lazy hold
			// gives way: this apply takes the lazy changes too.
			if pending = t.hold == nil || !t.batching; pending {
				t.hold = nil
			}
		case <-d.lazyKick:
			if t.hold == nil {
				t.hold, t.batching = time.After(applyHoldoff), false
			}
		case <-t.hold:
			t.hold, pending = nil, true
		case <-resync.C:
			pending, full = true, true
		case <-t.retry:
			pending, full = true, true
		case <-t.sandboxRetry:
			t.sandboxRetry = nil
			d.mu.Lock()
			d.sourcesDirty = true
			d.mu.Unlock()
			pending = true
		}
	}
}

// loopTimers are the loop's timers: nil channels when not running.
type loopTimers struct {
	retry, sandboxRetry, hold <-chan time.Time
	backoff, sandboxDelay     time.Duration
	batching                  bool // hold is for changes made during an apply
}

// afterApply sets the timers after an apply that ended with err.
func (t *loopTimers) afterApply(d *Dataplane, err error) {
	t.hold, t.batching = nil, false
	d.mu.Lock()
	idle := d.idle
	d.idle = false
	d.mu.Unlock()
	select {
	case <-d.kick: // changed while applying: batch the next changes
		if !idle { // (an apply that waited for the first sync programmed nothing)
			t.hold, t.batching = time.After(applyHoldoff), true
		} else {
			d.poke() // the change is taken at once
		}
	default:
	}
	t.backoff, t.sandboxDelay = cmp.Or(t.backoff, retryMin), cmp.Or(t.sandboxDelay, sandboxRetryMin)
	if err != nil {
		d.log.Warn("Dataplane apply failed, will retry", "err", err, "retryIn", t.backoff)
		t.retry = time.After(t.backoff)
		t.backoff = min(2*t.backoff, retryMax)
	} else {
		t.retry, t.backoff = nil, retryMin
	}
	// A sandbox whose interface Docker has not moved in yet is looked at
	// again soon (no netlink event tells us).
	switch {
	case !d.kernel.sandboxesPending:
		t.sandboxRetry, t.sandboxDelay = nil, sandboxRetryMin
	case t.sandboxRetry == nil:
		t.sandboxRetry, t.sandboxDelay = time.After(t.sandboxDelay), min(2*t.sandboxDelay, sandboxRetryMax)
	}
}
