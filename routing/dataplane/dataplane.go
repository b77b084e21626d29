package dataplane

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultResyncInterval = 30 * time.Second
	retryMin              = 100 * time.Millisecond
	retryMax              = 30 * time.Second
)

// Config configures a Dataplane. The zero value is usable.
type Config struct {
	NetNS          string // namespace path; empty: the process's own
	RouteProtocol  int    // default DefaultRouteProtocol
	VXLANDevice    string // default DefaultVXLANDevice
	ResyncInterval time.Duration
	Logger         *slog.Logger
}

// Dataplane converges the kernel on a Desired state from one goroutine.
// Its methods are safe for concurrent use.
type Dataplane struct {
	cfg  Config
	log  *slog.Logger
	kick chan struct{}
	done chan struct{}

	mu      sync.Mutex
	desired Desired
	primed  bool // Set was called: until then Run programs nothing
	gen     uint64
	status  Status
}

// New returns a Dataplane; nothing is programmed until Run.
func New(cfg Config) *Dataplane {
	if cfg.RouteProtocol == 0 {
		cfg.RouteProtocol = DefaultRouteProtocol
	}
	if cfg.VXLANDevice == "" {
		cfg.VXLANDevice = DefaultVXLANDevice
	}
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = DefaultResyncInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Dataplane{cfg: cfg, log: cfg.Logger.With("component", "routes"),
		kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// Set replaces the desired state; Run applies it soon.
func (d *Dataplane) Set(des Desired) {
	des = des.clone()
	d.mu.Lock()
	d.desired, d.primed = des, true
	d.gen++
	d.status.InSync = false
	d.mu.Unlock()
	d.poke()
}

func (d *Dataplane) poke() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Status returns the outcome of the last apply.
func (d *Dataplane) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.status
	st.Conflicts = append([]string(nil), st.Conflicts...)
	return st
}

// Done is closed when Run has returned.
func (d *Dataplane) Done() <-chan struct{} { return d.done }

// Run programs the kernel until ctx ends, then removes our routes. It
// returns an error only if the namespace cannot be opened.
func (d *Dataplane) Run(ctx context.Context) error {
	defer close(d.done)
	k, err := openKernel(d.cfg, d.log)
	if err != nil {
		return err
	}
	defer k.close()
	watchDone := make(chan struct{})
	defer close(watchDone)
	k.watchRoutes(watchDone, d.poke)
	resync := time.NewTicker(d.cfg.ResyncInterval)
	defer resync.Stop()
	var retry <-chan time.Time
	backoff := retryMin
	for {
		switch err := d.applyOnce(k); {
		case err != nil:
			d.log.Warn("Route programming incomplete; will retry", "err", err, "retryIn", backoff)
			retry, backoff = time.After(backoff), min(2*backoff, retryMax)
		default:
			retry, backoff = nil, retryMin
		}
		select {
		case <-ctx.Done():
			if n, err := k.removeOurRoutes(); err != nil {
				d.log.Warn("Could not remove our routes at shutdown", "err", err)
			} else {
				d.log.Info("Removed our routes at shutdown", "routes", n)
			}
			return nil
		case <-d.kick:
		case <-resync.C:
		case <-retry:
		}
	}
}

// applyOnce converges the kernel on the current desired state, records
// the outcome and returns its error. Before the first Set it does nothing:
// an empty desired state would delete routes a restarted process must
// keep until it knows better.
func (d *Dataplane) applyOnce(k *kernel) error {
	d.mu.Lock()
	des, gen, primed := d.desired, d.gen, d.primed
	d.mu.Unlock()
	if !primed {
		return nil
	}
	res := k.apply(des)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.status.Applies++
	d.status.Routes, d.status.Conflicts = res.routes, res.conflicts
	d.status.IPIPAvailable, d.status.IPIPReason = k.ipipOK, k.ipipReason
	d.status.LastError = ""
	if res.err != nil {
		d.status.LastError = res.err.Error()
	}
	d.status.InSync = res.err == nil && gen == d.gen
	return res.err
}
