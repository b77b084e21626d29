package felix

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
)

// iptablesTimeout bounds one iptables-save/restore round for one table.
const iptablesTimeout = 30 * time.Second

// snapshot is a consistent copy of the desired state for one apply.
type snapshot struct {
	gen       uint64
	full      bool // a full resync was requested
	endpoints []Endpoint
	blocks    []netip.Prefix
	filters   map[int]*FilterState
}

// boundEndpoint is an endpoint whose host-side interface exists.
type boundEndpoint struct {
	Endpoint
	link netlink.Link
}

func (d *Dataplane) takeSnapshot() snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := snapshot{gen: d.gen, full: d.wantFull, blocks: d.blocks, filters: maps.Clone(d.filterStates)}
	d.wantFull = false
	s.endpoints = slices.SortedFunc(maps.Values(d.endpoints), func(a, b Endpoint) int {
		return strings.Compare(a.ID, b.ID)
	})
	return s
}

// apply runs one reconcile of the kernel against the desired state and
// records the outcome.
func (d *Dataplane) apply(ctx context.Context, full bool) error {
	start := time.Now()
	snap := d.takeSnapshot()
	routes, err := d.kernel.program(ctx, snap, full || snap.full)

	d.mu.Lock()
	defer d.mu.Unlock()
	st := &d.status
	st.Applies++
	st.LastApply, st.LastApplyDuration, st.LastError = start, time.Since(start), err
	st.Endpoints, st.RoutesProgrammed = len(snap.endpoints), routes
	if err != nil {
		st.Failures++
		d.setInSync(false)
		return err
	}
	d.setInSync(snap.gen == d.gen)
	d.log.Debug("Dataplane applied", "full", full || snap.full, "duration", st.LastApplyDuration,
		"endpoints", st.Endpoints, "routes", routes)
	return nil
}

// program converges the kernel on snap. Every step runs even if an earlier
// one failed; the errors are joined. It returns the number of our routes.
func (k *kernelState) program(ctx context.Context, snap snapshot, full bool) (int, error) {
	links, err := k.listLinks()
	if err != nil {
		return 0, err
	}
	var errs []error
	if full {
		clear(k.configured)
		k.iptablesDirty = true
		errs = append(errs, k.ensureGlobalSysctls())
	}
	eps := k.bindEndpoints(snap.endpoints, links)
	errs = append(errs, k.configureIfaces(eps))
	routes, err := k.syncRoutes(k.desiredRoutes(eps, snap.blocks))
	errs = append(errs, err, k.syncNeighbours(eps, links), k.syncGateways(eps))
	errs = append(errs, k.syncFilterStates(snap.filters))
	if k.iptablesDirty {
		err := k.syncIptables(ctx)
		k.iptablesDirty = err != nil
		errs = append(errs, err)
	}
	return routes, errors.Join(errs...)
}

// bindEndpoints pairs endpoints with their interfaces. An endpoint whose
// interface does not exist (yet) is skipped, not an error: the link event
// when it appears triggers another apply.
func (k *kernelState) bindEndpoints(eps []Endpoint, links map[string]netlink.Link) []boundEndpoint {
	bound := make([]boundEndpoint, 0, len(eps))
	for _, ep := range eps {
		link, ok := links[ep.IfaceName]
		if !ok {
			k.log.Debug("Endpoint interface missing; skipping", "endpoint", ep.ID, "iface", ep.IfaceName)
			continue
		}
		bound = append(bound, boundEndpoint{Endpoint: ep, link: link})
	}
	return bound
}

func (k *kernelState) syncIptables(ctx context.Context) error {
	var errs []error
	for _, v := range slices.Sorted(maps.Keys(k.filters)) {
		t := k.filters[v]
		tctx, cancel := context.WithTimeout(ctx, iptablesTimeout)
		_, err := t.Apply(tctx)
		cancel()
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// errList collects per-object errors and summarises them.
type errList struct {
	what string
	errs []error
}

func (e *errList) add(err error) {
	if err != nil {
		e.errs = append(e.errs, err)
	}
}

// err returns nil, or the first few errors and a count of the rest.
func (e *errList) err() error {
	const show = 5
	if len(e.errs) == 0 {
		return nil
	}
	shown := e.errs[:min(show, len(e.errs))]
	err := errors.Join(shown...)
	if n := len(e.errs) - len(shown); n > 0 {
		err = fmt.Errorf("%w\n(and %d more)", err, n)
	}
	return fmt.Errorf("%s: %d failed: %w", e.what, len(e.errs), err)
}
