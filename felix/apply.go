package felix

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/nat"
	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/model"
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
	// endpointsDirty: the endpoint side needs a re-sync (see Dataplane);
	// dirtyLinks and linksStale: what the kernel watcher saw of the links.
	endpointsDirty bool
	dirtyLinks     map[string]bool
	linksStale     bool
	routesStale    bool
	hostAddrsStale bool
	events         []model.SyncEvent // policy mode: events to feed the model
	since          time.Time         // when the oldest of events was recorded
	// Routing's state (nil until SetRoutes), natOutgoing's pools (natPrimed
	// once SetNATPools was called) and sandbox source routes, each with
	// whether it changed since the last apply.
	remote       *routes.Desired
	remoteDirty  bool
	remoteGen    uint64
	natPools     []nat.Pool
	natPrimed    bool
	natDirty     bool
	sources      []sourceEntry
	sourcesDirty bool
	sourceSeq    uint64 // the newest entry in sources
	taken        time.Time
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
	s.endpointsDirty, d.endpointsDirty = d.endpointsDirty, false
	s.dirtyLinks, s.linksStale, d.dirtyLinks, d.linksStale = d.dirtyLinks, d.linksStale, nil, false
	s.routesStale, d.routesStale = d.routesStale, false
	s.hostAddrsStale, d.hostAddrsStale = d.hostAddrsStale, false
	s.events, s.since = d.events, d.eventsSince
	d.events, d.eventsSince = nil, time.Time{}
	s.remote, s.natPools, s.natPrimed, s.sourceSeq, s.taken = d.remote, d.natPools, d.natPrimed, d.sourceSeq, time.Now()
	s.remoteDirty, s.natDirty, s.sourcesDirty, s.remoteGen = d.remoteDirty, d.natDirty, d.sourcesDirty, d.remoteGen
	d.remoteDirty, d.natDirty, d.sourcesDirty = false, false, false
	s.sources = slices.SortedFunc(maps.Values(d.sources), func(a, b sourceEntry) int { return strings.Compare(a.id, b.id) })
	s.endpoints = slices.SortedFunc(maps.Values(d.endpoints), func(a, b Endpoint) int {
		return strings.Compare(a.ID, b.ID)
	})
	return s
}

// apply runs one reconcile of the kernel against the desired state and
// records the outcome.
func (d *Dataplane) apply(ctx context.Context, full bool) error {
	start := time.Now()
	if d.applySettings(ctx) { // settings.go
		full = true
	}
	snap := d.takeSnapshot()
	var render time.Duration
	if d.policy != nil {
		var ready bool
		if ready, render = d.policy.prepare(&snap); !ready {
			d.log.Debug("Dataplane waiting for the first full datastore sync")
			d.mu.Lock()
			if full || snap.full { // keep the request for the first real apply
				d.wantFull = true
			}
			d.idle = true // nothing programmed: no reason to batch what comes next
			d.mu.Unlock()
			return nil // the full event's OnSyncEvent wakes the loop again
		}
		if render > 0 {
			d.publishRuleIDs(d.policy.ruleIDs)
		}
	}
	routes, err := d.kernel.program(ctx, snap, full || snap.full)
	d.forgetSandboxes(d.kernel.sandboxesGone, snap.sourceSeq)

	d.mu.Lock()
	defer d.mu.Unlock()
	d.remoteStatus, d.remoteStatusGen = d.kernel.remoteStatus, d.kernel.remoteGen
	st := &d.status
	if render > 0 {
		st.LastRenderDuration = render
	}
	st.Applies++
	st.LastApply, st.LastApplyDuration, st.LastError = start, time.Since(start), err
	st.Endpoints, st.RoutesProgrammed = len(snap.endpoints), routes
	if err != nil {
		st.Failures++
		d.setInSync(false)
		return err
	}
	d.setInSync(snap.gen == d.gen)
	if p := d.policy; p != nil && !p.pendingSince.IsZero() {
		st.UpdateLatency.record(time.Since(p.pendingSince))
		p.pendingSince = time.Time{}
	}
	d.log.Debug("Dataplane applied", "full", full || snap.full, "duration", st.LastApplyDuration,
		"endpoints", st.Endpoints, "routes", routes)
	return nil
}

// program converges the kernel on snap. Every step runs even if an earlier
// one failed; the errors are joined. It returns the number of our routes.
func (k *kernelState) program(ctx context.Context, snap snapshot, full bool) (int, error) {
	k.links, k.settings = nil, nil
	defer func() { k.links, k.settings = nil, nil }()
	var errs []error
	if full {
		clear(k.configured)
		k.iptablesDirty = true
		errs = append(errs, k.ensureGlobalSysctls(), k.ensureGatewayLocal(), k.removeNftDataplane()) // gateway.go, nftables.go
	}
	endpoints := make(chan error, 1)
	syncEndpoints := func() {
		var err error
		if full || snap.endpointsDirty || k.endpointsFailed {
			err = k.syncEndpoints(snap, full)
			k.endpointsFailed = err != nil
		}
		if full && k.cfg.StrayVethGrace > 0 {
			err = errors.Join(err, k.reapStrayVeths(k.ownedInterfaces(snap.endpoints), time.Now()))
		}
		endpoints <- err
	}
	if k.nft == nil {
		syncEndpoints()
	}
	errs = append(errs, k.syncFilterStates(snap.filters, full))
	if k.iptablesDirty {
		err := k.syncIptables(ctx, full)
		k.iptablesDirty = err != nil
		errs = append(errs, err)
	}
	if k.nft != nil { // nftables mode: filter and natOutgoing in one transaction
		// Interfaces, routes and sysctls (rtnetlink, /proc) are written while
		// the kernel commits the nftables transaction (its own socket and
		// state), as Calico's felix updates routes in parallel with its
		// iptables: a start of day costs encoding the transaction (every
		// core) and then the longer of the commit and the endpoints' work.
		// A restart or full resync whose shards hold endpoints starts them
		// as its read-back begins.
		var once sync.Once
		start := func() { once.Do(func() { go syncEndpoints() }) }
		errs = append(errs, k.syncNft(ctx, snap, full, start))
		start() // nothing to commit, or it failed before
	}
	errs = append(errs, <-endpoints)
	return k.routes, errors.Join(append(errs, k.programOthers(ctx, snap, full))...)
}

// programOthers converges what other components hand over: routing's
// routes and tunnels, natOutgoing, sandbox source routes. Each is applied
// when it changed, after its own failure and at every full resync.
func (k *kernelState) programOthers(ctx context.Context, snap snapshot, full bool) error {
	var errs []error
	if snap.remote != nil && (full || snap.remoteDirty || k.remoteFailed) {
		err := k.syncTunnels(*snap.remote, snap.remoteGen)
		k.remoteFailed = err != nil
		errs = append(errs, err)
	}
	if snap.natPrimed && (full || snap.natDirty || k.natFailed) {
		err := k.syncNAT(ctx, snap.natPools)
		k.natFailed = err != nil
		errs = append(errs, err)
	}
	k.sandboxesGone = nil
	if full || snap.sourcesDirty || k.sourcesFailed {
		gone, err := k.syncSandboxes(snap.sources, snap.taken)
		k.sandboxesGone, k.sourcesFailed = gone, err != nil
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// syncEndpoints converges the endpoint side: interfaces and their sysctls,
// routes, neighbour entries, IPv6 gateway addresses.
func (k *kernelState) syncEndpoints(snap snapshot, full bool) (err error) {
	defer func() {
		if err != nil {
			k.linkCache = nil // the next sync dumps the links
		}
	}()
	links, dumped, err := k.endpointLinks(snap, full)
	if err != nil {
		return err
	}
	eps := k.bindEndpoints(snap.endpoints, links)
	errs := []error{k.configureIfaces(eps)}
	want := k.desiredRoutes(eps, snap.blocks)
	k.wantedRoutes.Store(&want) // before deleting: the watcher ignores what we delete
	routes, err := k.syncRoutes(want, dumped || snap.routesStale)
	k.routes = routes
	errs = append(errs, err, k.syncNeighbours(eps, links, dumped), k.syncGateways(eps))
	return errors.Join(errs...)
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

// syncIptables programs the filter table of each IP version, with its IP
// sets around it: sets are created and filled first (a rule may only name
// an existing set), stale sets destroyed last (a set in use cannot be). A
// full resync reads the kernel back; otherwise only the delta from the last
// successful apply is written.
func (k *kernelState) syncIptables(ctx context.Context, full bool) error {
	var errs []error
	for _, v := range slices.Sorted(maps.Keys(k.filters)) {
		tctx, cancel := context.WithTimeout(ctx, iptablesTimeout)
		errs = append(errs, k.syncFamily(tctx, v, full))
		cancel()
	}
	return errors.Join(errs...)
}

func (k *kernelState) syncFamily(ctx context.Context, v int, full bool) error {
	t, sets := k.filters[v], k.sets[v]
	var setErr error
	if sets != nil && k.setsChanged[v] {
		applySets := sets.ApplyUpdatesIncremental
		if full {
			applySets = sets.ApplyUpdates
		}
		if setErr = applySets(ctx); setErr == nil {
			k.setsChanged[v] = false
		}
	}
	apply := t.ApplyIncremental
	if full {
		apply = t.Apply
	}
	if _, err := apply(ctx); err != nil {
		return errors.Join(setErr, err) // old rules may still use stale sets
	}
	if err := k.applyHostTables(ctx, v, full); err != nil { // hosttables.go
		return errors.Join(setErr, err)
	}
	if sets != nil && k.setsShrunk[v] {
		err := sets.ApplyDeletions(ctx)
		k.setsShrunk[v] = err != nil
		setErr = errors.Join(setErr, err)
	}
	return setErr
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
