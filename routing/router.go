package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

// Networking backends, as calico/node's CALICO_NETWORKING_BACKEND.
const (
	BackendBGP   = "bird"  // BGP (in-process, not BIRD) plus whatever encapsulation pools ask for
	BackendVXLAN = "vxlan" // no BGP: routes for VXLAN pools from the datastore only
	BackendNone  = "none"  // no routing at all (natOutgoing still works)
)

// Defaults of Config.
const (
	DefaultRestartHold = 30 * time.Second
	DefaultResync      = 30 * time.Second
)

// retryEvery is how soon a plan that is waiting on time is made again:
// the restart hold, a tunnel address not yet allocated, a BGP password
// file not readable (files send no event).
const retryEvery = time.Second

// Config configures a Router.
type Config struct {
	NodeName string     // required
	Cache    Source     // required: the cluster's Nodes, BGP resources, pools and IPAM blocks
	Nodes    NodeStore  // required: writes this node's tunnel addresses
	IPAM     TunnelIPAM // required: allocates them
	Backend  string     // BackendBGP (default), BackendVXLAN or BackendNone

	VXLANVNI, VXLANPort, VXLANMTU int // defaults 4096, 4789, 1450
	IPIPMTU                       int // default 1480

	// Dataplane programs what routing computes (*felix.Dataplane, the one
	// owner of the kernel); required unless Backend is BackendNone.
	Dataplane Dataplane
	// RouteProtocol is the protocol of the routes the Dataplane programs
	// for routing (reported in the status); default 81.
	RouteProtocol int
	// RestartHold bounds how long routes from before a restart are kept
	// while BGP re-learns them (see Desired.KeepStale). Default 30s.
	RestartHold time.Duration
	// Resync is how often the whole plan is made again when no input
	// changed (the safety net; passwords files changed in place are read
	// then). Default DefaultResync.
	Resync time.Duration
	// GracefulRestartTime is announced to peers; default 120s.
	GracefulRestartTime time.Duration
	// SecretsDir holds BGP passwords (secrets.go); default DefaultSecretsDir.
	SecretsDir string
	// OnPools, if set, is called with every IP pool whenever they change
	// (natOutgoing is fed this way).
	OnPools func([]*resources.IPPool)
	Logger  *slog.Logger
}

// Dataplane is what routing needs of the owner of the kernel
// (*felix.Dataplane): routing computes its desired state and hands it
// over; it never writes the kernel itself.
type Dataplane interface {
	// SetRoutes replaces the desired routes, tunnel devices, FDB and
	// neighbour entries; the owner converges the kernel on them soon.
	SetRoutes(routes.Desired)
	// RoutesStatus reports the owner's last apply of them.
	RoutesStatus() routes.Status
	// IPIPSupport reports whether the kernel supports IPIP, and if not why.
	IPIPSupport() (bool, string)
}

// Router runs routing for one node: it follows the datastore and IPAM,
// and drives the BGP speaker and, through the Dataplane, the kernel. See the package
// documentation.
type Router struct {
	cfg     Config
	log     *slog.Logger
	speaker *bgp.Speaker // nil without BGP
	dp      Dataplane    // nil with BackendNone
	kick    chan struct{}
	done    chan struct{}
	started time.Time
	opts    encapOptions
	ipipWhy string
	// logLevel filters every log of routing (GoBGP's included) by
	// BGPConfiguration logSeverityScreen; logSeverity is the value applied.
	logLevel    *levelFilter
	logSeverity string

	mu        sync.Mutex
	c         *cluster
	synced    bool // first full event (resources and IPAM blocks) seen
	keepStale bool
	tunnelErr error
	tunnelAt  time.Time // last tunnel address work; retried no sooner than 2s after
	lastBGP   *bgp.Desired
	lastDP    *routes.Desired
	// secretErrs are the password errors of the last plan, by peer.
	secretErrs map[string]string
	// plans counts the plans made (reconcile passes) and planTime sums
	// their wall time, for tests and benchmarks.
	plans, planTime atomic.Int64
}

// New checks the configuration and returns a Router; nothing runs before Run.
func New(cfg Config) (*Router, error) {
	if cfg.NodeName == "" || cfg.Cache == nil || cfg.Nodes == nil || cfg.IPAM == nil {
		return nil, errors.New("routing: NodeName, Cache, Nodes and IPAM are required")
	}
	if cfg.Dataplane == nil && cfg.Backend != BackendNone {
		return nil, fmt.Errorf("routing: backend %q needs a Dataplane to program its routes", cfg.Backend)
	}
	switch cfg.Backend {
	case "":
		cfg.Backend = BackendBGP
	case BackendBGP, BackendVXLAN, BackendNone:
	default:
		return nil, fmt.Errorf("networking backend %q: use %s, %s or %s", cfg.Backend, BackendBGP, BackendVXLAN, BackendNone)
	}
	setDefault(&cfg.VXLANVNI, routes.DefaultVXLANVNI)
	setDefault(&cfg.VXLANPort, routes.DefaultVXLANPort)
	setDefault(&cfg.VXLANMTU, routes.DefaultVXLANMTU)
	setDefault(&cfg.IPIPMTU, routes.DefaultIPIPMTU)
	setDefault(&cfg.RouteProtocol, routes.DefaultRouteProtocol)
	if cfg.SecretsDir == "" {
		cfg.SecretsDir = DefaultSecretsDir
	}
	if cfg.RestartHold <= 0 {
		cfg.RestartHold = DefaultRestartHold
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	filter := newLevelFilter(cfg.Logger.Handler())
	cfg.Logger = slog.New(filter)
	r := &Router{logLevel: filter, cfg: cfg, log: cfg.Logger.With("component", "routing"), kick: make(chan struct{}, 1),
		done: make(chan struct{}), c: newCluster(),
		opts: encapOptions{vxlanVNI: cfg.VXLANVNI, vxlanPort: cfg.VXLANPort, vxlanMTU: cfg.VXLANMTU, ipipMTU: cfg.IPIPMTU}}
	if cfg.Backend == BackendBGP {
		r.speaker = bgp.New(bgp.Config{RestartTime: cfg.GracefulRestartTime, Logger: cfg.Logger})
	}
	if cfg.Backend != BackendNone {
		r.dp = cfg.Dataplane
	}
	r.c.node = cfg.NodeName
	return r, nil
}

func setDefault(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

// Done is closed when Run has returned.
func (r *Router) Done() <-chan struct{} { return r.done }

// Run follows the datastore and hands routing's desired state to the
// Dataplane until ctx ends; then the BGP speaker stops gracefully (peers
// keep this node's routes for the graceful-restart time). The Dataplane
// removes the routes it installed for routing when it stops.
func (r *Router) Run(ctx context.Context) {
	defer close(r.done)
	r.started = time.Now()
	if r.dp != nil {
		r.opts.ipipAvailable, r.ipipWhy = r.dp.IPIPSupport()
		if !r.opts.ipipAvailable {
			r.log.Warn("IPIP is not available; pools with ipipMode get routes without encapsulation", "reason", r.ipipWhy)
		}
	}
	var wg sync.WaitGroup
	cancelSub := r.cfg.Cache.Subscribe("routing", watchedKinds, r.onSync)
	defer cancelSub()
	var changes <-chan struct{}
	if r.speaker != nil {
		wg.Go(func() { r.speaker.Run(ctx) })
		changes = r.speaker.Changes()
	}
	wake := time.NewTimer(r.cfg.Resync)
	defer wake.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-r.kick:
		case <-changes:
		case <-wake.C:
		}
		if ctx.Err() == nil {
			wake.Reset(r.reconcile(ctx))
		}
	}
	wg.Wait()
	r.log.Info("Routing stopped")
}

func (r *Router) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// onSync folds a cache event into the model and wakes the loop when
// routing's inputs changed (not for a block's own containers coming and
// going: see cluster.apply).
func (r *Router) onSync(ev model.SyncEvent) {
	poolsChanged := ev.Full || slices.ContainsFunc(ev.Updates, func(u model.Update) bool { return u.Kind == resources.KindIPPool })
	r.mu.Lock()
	changed := r.c.apply(ev)
	r.applyLogSeverity()
	r.synced = r.synced || ev.Full
	pools := mapValues(r.c.pools)
	r.mu.Unlock()
	if r.cfg.OnPools != nil && poolsChanged {
		r.cfg.OnPools(pools)
	}
	if changed {
		r.poke()
	}
}

// reconcile computes the desired state from the model and hands what
// changed to the speaker and the dataplane (each hand-over makes its owner
// re-apply); it also keeps the node's tunnel addresses. It returns how
// long the loop may wait for an input change before the next pass.
func (r *Router) reconcile(ctx context.Context) time.Duration {
	start := time.Now()
	defer func() { r.plans.Add(1); r.planTime.Add(int64(time.Since(start))) }()
	p, ok := r.plan()
	if !ok {
		return r.cfg.Resync
	}
	if p.bgp != nil {
		r.speaker.SetDesired(*p.bgp)
	}
	if p.dp != nil {
		r.dp.SetRoutes(*p.dp)
	}
	if p.tunnels != nil {
		err := p.tunnels(ctx)
		r.mu.Lock()
		r.tunnelErr = err
		r.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			r.log.Warn("Could not set up this node's tunnel address; will retry", "err", err)
			p.waiting = true
		}
	}
	if p.waiting {
		return retryEvery
	}
	return r.cfg.Resync
}

// plan is what one reconcile hands over: nil where nothing changed.
type plan struct {
	bgp     *bgp.Desired
	dp      *routes.Desired
	tunnels func(context.Context) error
	// waiting: the plan depends on time, not only on its inputs (the
	// restart hold, tunnel work held back or failed, a password file not
	// readable): the loop comes back within retryEvery.
	waiting bool
}

// plan computes the desired state; false while the model is half-read
// (nothing is announced or programmed from it then).
func (r *Router) plan() (plan, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.synced {
		return plan{}, false
	}
	me := r.cfg.NodeName
	var p plan
	learned := map[netip.Prefix]bgp.Route{}
	if r.speaker != nil {
		d := r.bgpDesired(me)
		learned = r.speaker.Learned()
		if r.lastBGP == nil || !reflect.DeepEqual(*r.lastBGP, d) {
			p.bgp, r.lastBGP = &d, &d
		}
	}
	keep := r.speaker != nil && time.Since(r.started) < r.cfg.RestartHold && !r.speaker.Synced()
	if r.keepStale && !keep {
		r.log.Info("Routes re-learned after start; stale routes may now be removed")
	}
	r.keepStale = keep
	if r.dp != nil {
		d := r.dataplaneDesired(me, learned)
		d.KeepStale = keep
		if r.lastDP == nil || !reflect.DeepEqual(*r.lastDP, d) {
			p.dp, r.lastDP = &d, &d
		}
	}
	if work := r.tunnelWork(me); work != nil && time.Since(r.tunnelAt) > 2*time.Second {
		p.tunnels, r.tunnelAt = work, time.Now()
	} else if work != nil {
		p.waiting = true
	}
	p.waiting = p.waiting || keep || len(r.secretErrs) > 0
	return p, true
}

// bgpDesired is the speaker's configuration; r.mu is held.
func (r *Router) bgpDesired(me string) bgp.Desired {
	self := r.c.nodes[me]
	ip := nodeIPv4(self)
	if !ip.IsValid() || !ip.Addr().Is4() {
		return bgp.Desired{} // no IPv4 BGP address: BGP stays off
	}
	g := &bgp.Global{ASN: r.c.asnOf(self), RouterID: ip.Addr(), IPv6: nodeIPv6(self).Addr(),
		ListenPort: r.c.settingsFor(me).listenPort}
	peers := r.withPasswords(r.c.desiredPeers(me)) // secrets.go
	exports := r.c.exports(me)
	return bgp.Desired{Global: g, Peers: peers, Exports: exports, Policies: r.c.peerPolicies(me, peers, exports)}
}

// dataplaneDesired is the routing dataplane's state; r.mu is held.
func (r *Router) dataplaneDesired(me string, learned map[netip.Prefix]bgp.Route) routes.Desired {
	var d routes.Desired
	d.VXLAN, d.VTEPs = r.c.vxlanDevice(me, r.opts)
	d.IPIP = r.c.ipipDevice(me, r.opts)
	dev := routes.DefaultVXLANDevice
	if d.VXLAN != nil {
		d.Routes = append(d.Routes, r.c.vxlanRoutes(me, dev)...)
	}
	d.Routes = append(d.Routes, r.c.bgpRoutes(me, learned, r.opts)...)
	slices.SortFunc(d.Routes, func(a, b routes.Route) int { return comparePrefix(a.Dst, b.Dst) })
	return d
}
