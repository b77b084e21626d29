package driver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Container labels reach an endpoint after Join (see labels.go): the
// libnetwork protocol never tells the driver which container an endpoint
// belongs to, and Docker cannot be asked during Join (it holds the
// container's lock for the whole start, so a container inspect from inside
// Join would deadlock). Until then the endpoint is stored with the
// labels-pending annotation and the dataplane drops all its traffic.
//
// The labeler resolves each joined endpoint in the background:
//
//   - Primary: the engine's "network connect" event (emitted right after
//     Join returns, before the container's process starts) names the
//     container and network; a network inspect maps the endpoint to its
//     container and the container list gives its labels and name. Neither
//     call waits for the starting container. Measured on Docker 20.10:
//     the event arrives ~1 ms after Join and the two calls take ~2 ms each.
//   - Fallback: a network inspect poll for endpoints no event resolved
//     (events missed while the stream was down, an engine that sends
//     none): first labelFirstPoll after Join, then backing off.
//   - Start-up: Resync picks up local endpoints still pending (the daemon
//     stopped in between) and resolves them by the same poll.
//
// The WorkloadEndpoint is then rewritten in one compare-and-swap: labels,
// spec.workload, spec.containerID, and no pending annotation.

// Timing of the fallback poll.
const (
	labelFirstPoll = 250 * time.Millisecond
	labelMaxPoll   = 5 * time.Second
	// labelGiveUp: an endpoint whose container Docker still does not
	// report is dropped from the poll (it stays fail-closed; a daemon
	// restart tries again).
	labelGiveUp = 10 * time.Minute
	// labelApplyTimeout bounds one resolution (Docker calls and the write).
	labelApplyTimeout = 20 * time.Second
)

// LabelStatus says how container labels are reaching endpoints.
type LabelStatus struct {
	// Pending is the number of joined endpoints whose labels are not yet
	// stored: they drop all traffic meanwhile.
	Pending int
	// Applied and Failed count endpoints resolved and given up on (an
	// invalid label, or no container found within 10 minutes).
	Applied, Failed uint64
	// EventsSubscribed tells whether the Docker events stream is up.
	EventsSubscribed bool
	// Window is the time from Join returning to the labels being stored,
	// over the endpoints joined since the daemon started.
	Window Latency
}

// Latency summarises durations (Total/Count is the mean).
type Latency struct {
	Count            uint64
	Last, Max, Total time.Duration
}

func (l *Latency) record(d time.Duration) {
	l.Count++
	l.Last, l.Max, l.Total = d, max(l.Max, d), l.Total+d
}

// pendingEndpoint is a joined endpoint whose labels are not stored yet.
type pendingEndpoint struct {
	id, network string
	joined      time.Time // when Join returned; zero if found at start-up
	added       time.Time
	next        time.Time // next fallback poll
	backoff     time.Duration
	busy        bool // a resolution is running
	again       bool // an event came while busy: retry at once if it fails
	// stored is the endpoint as Join stored it (nil if found at
	// start-up): the labels' compare-and-swap starts from it.
	stored *resources.WorkloadEndpoint
}

// labeler tracks pending endpoints and resolves them.
type labeler struct {
	d    *Driver
	wake chan struct{} // buffer 1

	mu      sync.Mutex
	pending map[string]*pendingEndpoint
	status  LabelStatus
}

func newLabeler(d *Driver) *labeler {
	return &labeler{d: d, wake: make(chan struct{}, 1), pending: map[string]*pendingEndpoint{}}
}

// start runs the event watcher and the fallback poll until the driver closes.
func (l *labeler) start() {
	l.d.bg.Go(func() { l.watchEvents(l.d.ctx) })
	l.d.bg.Go(func() { l.poll(l.d.ctx) })
}

// LabelStatus reports how container labels are reaching endpoints.
func (d *Driver) LabelStatus() LabelStatus {
	if d.labels == nil {
		return LabelStatus{}
	}
	l := d.labels
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.status
	st.Pending = len(l.pending)
	return st
}

// add starts resolving an endpoint (joined is zero and stored nil for one
// found pending at start-up).
func (l *labeler) add(id, network string, joined time.Time, stored *resources.WorkloadEndpoint) {
	now := time.Now()
	l.mu.Lock()
	if _, ok := l.pending[id]; !ok {
		l.pending[id] = &pendingEndpoint{id: id, network: network, joined: joined, added: now,
			next: now.Add(labelFirstPoll), backoff: labelFirstPoll, stored: stored}
		if joined.IsZero() {
			l.pending[id].next = now
		}
	}
	l.mu.Unlock()
	l.poke()
}

// forget stops resolving an endpoint (Leave, DeleteEndpoint).
func (l *labeler) forget(id string) {
	l.mu.Lock()
	delete(l.pending, id)
	l.mu.Unlock()
}

func (l *labeler) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// watchEvents keeps a subscription to the engine's connect events.
func (l *labeler) watchEvents(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.d.docker.WatchConnects(ctx, func() {
			backoff = 100 * time.Millisecond
			l.setSubscribed(true)
		}, func(ev dockerapi.Connect) { l.onConnect(ev) })
		l.setSubscribed(false)
		if ctx.Err() != nil {
			return
		}
		l.d.log.Warn("Docker events stream failed; container labels are found by polling meanwhile", "err", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// setSubscribed records the stream's state; on (re)subscription every
// pending endpoint is polled at once, as its event may have been missed.
func (l *labeler) setSubscribed(up bool) {
	l.mu.Lock()
	l.status.EventsSubscribed = up
	if up {
		now := time.Now()
		for _, p := range l.pending {
			p.next = now
		}
	}
	l.mu.Unlock()
	if up {
		l.poke()
	}
}

// onConnect resolves the endpoints waiting on the event's network. One
// being resolved already (by another container's event: several may start
// on one network at once) is retried at once should that attempt fail.
func (l *labeler) onConnect(ev dockerapi.Connect) {
	for n, ids := range l.claim(func(p *pendingEndpoint) bool {
		if p.network == ev.NetworkID && p.busy {
			p.again = true
		}
		return p.network == ev.NetworkID
	}) {
		l.d.bg.Go(func() { l.resolve(n, ids) })
	}
}

// claim marks the idle pending endpoints that match as busy and returns
// their IDs grouped by network. match sees every pending endpoint, busy or
// not, under the lock.
func (l *labeler) claim(match func(*pendingEndpoint) bool) map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	byNet := map[string][]string{}
	for id, p := range l.pending {
		if match(p) && !p.busy {
			p.busy = true
			byNet[p.network] = append(byNet[p.network], id)
		}
	}
	return byNet
}

// poll runs the fallback: it resolves endpoints whose poll is due.
func (l *labeler) poll(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		for n, ids := range l.claim(func(p *pendingEndpoint) bool { return !p.next.After(now) }) {
			l.d.bg.Go(func() { l.resolve(n, ids) })
		}
		timer.Reset(l.nextPoll(now))
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		case <-timer.C:
		}
	}
}

// nextPoll is the wait until the earliest due poll (an hour if none).
func (l *labeler) nextPoll(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	wait := time.Hour
	for _, p := range l.pending {
		if !p.busy {
			wait = min(wait, max(p.next.Sub(now), 0))
		}
	}
	return wait
}

// permanentError is a resolution failure that retrying cannot fix.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// resolve finds the containers of endpoints of one network and stores
// their labels.
func (l *labeler) resolve(network string, ids []string) {
	ctx, cancel := context.WithTimeout(l.d.ctx, labelApplyTimeout)
	defer cancel()
	owners, err := l.d.docker.NetworkEndpoints(ctx, network)
	containers := map[string]dockerapi.Container{}
	for _, id := range ids {
		o, ok := owners[id]
		var applied *resources.WorkloadEndpoint
		var rerr error
		switch {
		case err != nil:
			rerr = err
		case !ok:
			rerr = fmt.Errorf("docker does not list endpoint %s in network %s yet", short(id), short(network))
		default:
			c, seen := containers[o.ContainerID]
			if !seen {
				c, rerr = l.d.docker.Container(ctx, o.ContainerID)
				containers[o.ContainerID] = c
			}
			if rerr == nil {
				applied, rerr = l.apply(ctx, id, network, c, l.storedOf(id))
			}
			if rerr == nil && applied != nil {
				l.d.readEnvLater(id, applied.Namespace, c.ID) // CALICO_PROFILE, CALICO_IP, ... (containerenv.go)
			}
		}
		l.done(id, applied, rerr)
	}
}

// storedOf returns the endpoint as Join stored it, if known.
func (l *labeler) storedOf(id string) *resources.WorkloadEndpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.pending[id]; ok {
		return p.stored
	}
	return nil
}

// apply stores a container's labels on its endpoint in one
// compare-and-swap, starting from stored (the endpoint as Join stored it;
// read from etcd when nil or out of date), and returns the endpoint as
// stored. It returns nil and no error when there was nothing to do: the
// endpoint is gone or no longer pending.
func (l *labeler) apply(ctx context.Context, id, network string, c dockerapi.Container, stored *resources.WorkloadEndpoint) (*resources.WorkloadEndpoint, error) {
	name := WorkloadEndpointName(l.d.node, id)
	for range 10 {
		wep, err := l.current(ctx, name, network, stored)
		stored = nil // after a conflict, read what is there
		if errors.Is(err, datastore.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read endpoint %s: %w", name, err)
		}
		if !labelsPending(wep) {
			return nil, nil
		}
		if err := labelEndpoint(wep, c); err != nil {
			return nil, permanentError{err}
		}
		_, err = l.d.store.Update(ctx, wep)
		if err == nil {
			return wep, nil
		}
		if !errors.Is(err, datastore.ErrConflict) {
			return nil, fmt.Errorf("store labels of endpoint %s: %w", name, err)
		}
	}
	return nil, fmt.Errorf("store labels of endpoint %s: it kept changing meanwhile", name)
}

// current returns a copy of stored that may be modified, or reads the
// endpoint when stored is nil.
func (l *labeler) current(ctx context.Context, name, network string, stored *resources.WorkloadEndpoint) (*resources.WorkloadEndpoint, error) {
	if stored != nil {
		return cloneEndpoint(stored), nil
	}
	ns, err := l.d.namespaceOf(ctx, network) // namespace.go
	if err != nil {
		return nil, err
	}
	return datastore.GetAs[*resources.WorkloadEndpoint](ctx, l.d.store, ns, name)
}

// done records the outcome of one endpoint's resolution.
func (l *labeler) done(id string, applied *resources.WorkloadEndpoint, err error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.pending[id]
	if !ok {
		return // forgotten meanwhile (Leave, DeleteEndpoint)
	}
	var perm permanentError
	switch {
	case err == nil:
		delete(l.pending, id)
		if applied == nil {
			return
		}
		l.status.Applied++
		args := []any{"endpoint", id, "container", applied.Spec.Workload, "labels", applied.Labels}
		if !p.joined.IsZero() {
			w := now.Sub(p.joined)
			l.status.Window.record(w)
			args = append(args, "sinceJoin", w)
		}
		l.d.log.Info("Applied container labels; the endpoint's policy is enforced", args...)
	case errors.As(err, &perm):
		delete(l.pending, id)
		l.status.Failed++
		l.d.log.Error("Endpoint stays fail-closed", "endpoint", id, "err", err)
	case now.Sub(p.added) > labelGiveUp:
		delete(l.pending, id)
		l.status.Failed++
		l.d.log.Warn("Gave up looking for the endpoint's container; it stays fail-closed (drops all traffic) "+
			"until the daemon restarts or the container is recreated", "endpoint", id, "err", err)
	case p.again:
		p.busy, p.again, p.next = false, false, now
		l.poke()
	default:
		p.busy, p.next = false, now.Add(p.backoff)
		p.backoff = min(2*p.backoff, labelMaxPoll)
		l.d.log.Debug("Container labels not found yet; will retry", "endpoint", id, "retryIn", p.next.Sub(now), "err", err)
		l.poke()
	}
}
