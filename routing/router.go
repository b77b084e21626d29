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
	"time"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
	"github.com/calico-docker/calico-libnetwork/routing/dataplane"
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
)

// Config configures a Router.
type Config struct {
	NodeName string     // required
	Cache    Source     // required: the cluster's Nodes, BGP resources, pools and IPAM blocks
	Nodes    NodeStore  // required: writes this node's tunnel addresses
	IPAM     TunnelIPAM // required: allocates them
	Backend  string     // BackendBGP (default), BackendVXLAN or BackendNone

	VXLANVNI, VXLANPort, VXLANMTU int // defaults 4096, 4789, 1450
	IPIPMTU                       int // default 1480

	RouteProtocol  int           // default dataplane.DefaultRouteProtocol (81)
	ResyncInterval time.Duration // kernel resync; default 30s
	// RestartHold bounds how long routes from before a restart are kept
	// while BGP re-learns them (see Desired.KeepStale). Default 30s.
	RestartHold time.Duration
	// GracefulRestartTime is announced to peers; default 120s.
	GracefulRestartTime time.Duration
	// OnPools, if set, is called with every IP pool whenever they change
	// (natOutgoing is fed this way).
	OnPools func([]*resources.IPPool)
	NetNS   string // namespace to program; empty: the process's own
	Logger  *slog.Logger
}

// Router runs routing for one node: it follows the datastore and IPAM,
// and drives the BGP speaker and the routing dataplane. See the package
// documentation.
type Router struct {
	cfg     Config
	log     *slog.Logger
	speaker *bgp.Speaker         // nil without BGP
	dp      *dataplane.Dataplane // nil with BackendNone
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
	lastDP    *dataplane.Desired
}

// New checks the configuration and returns a Router; nothing runs before Run.
func New(cfg Config) (*Router, error) {
	if cfg.NodeName == "" || cfg.Cache == nil || cfg.Nodes == nil || cfg.IPAM == nil {
		return nil, errors.New("routing: NodeName, Cache, Nodes and IPAM are required")
	}
	switch cfg.Backend {
	case "":
		cfg.Backend = BackendBGP
	case BackendBGP, BackendVXLAN, BackendNone:
	default:
		return nil, fmt.Errorf("networking backend %q: use %s, %s or %s", cfg.Backend, BackendBGP, BackendVXLAN, BackendNone)
	}
	setDefault(&cfg.VXLANVNI, dataplane.DefaultVXLANVNI)
	setDefault(&cfg.VXLANPort, dataplane.DefaultVXLANPort)
	setDefault(&cfg.VXLANMTU, dataplane.DefaultVXLANMTU)
	setDefault(&cfg.IPIPMTU, dataplane.DefaultIPIPMTU)
	setDefault(&cfg.RouteProtocol, dataplane.DefaultRouteProtocol)
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = dataplane.DefaultResyncInterval
	}
	if cfg.RestartHold <= 0 {
		cfg.RestartHold = DefaultRestartHold
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
		r.dp = dataplane.New(dataplane.Config{NetNS: cfg.NetNS, RouteProtocol: cfg.RouteProtocol,
			ResyncInterval: cfg.ResyncInterval, Logger: cfg.Logger})
	}
	return r, nil
}

func setDefault(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

// Done is closed when Run has returned.
func (r *Router) Done() <-chan struct{} { return r.done }

// Run follows the datastore and programs routing until ctx ends; then the
// BGP speaker stops gracefully (peers keep this node's routes for the
// graceful-restart time) and the routes it installed are removed.
func (r *Router) Run(ctx context.Context) {
	defer close(r.done)
	r.started = time.Now()
	if r.dp != nil {
		r.opts.ipipAvailable, r.ipipWhy = dataplane.ProbeIPIP(r.cfg.NetNS)
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
	if r.dp != nil {
		wg.Go(func() {
			if err := r.dp.Run(ctx); err != nil {
				r.log.Error("Routing dataplane stopped", "err", err)
			}
		})
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-r.kick:
		case <-changes:
		case <-tick.C:
		}
		if ctx.Err() == nil {
			r.reconcile(ctx)
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

// onSync folds a cache event into the model.
func (r *Router) onSync(ev model.SyncEvent) {
	poolsChanged := ev.Full || slices.ContainsFunc(ev.Updates, func(u model.Update) bool { return u.Kind == resources.KindIPPool })
	r.mu.Lock()
	r.c.apply(ev)
	r.applyLogSeverity()
	r.synced = r.synced || ev.Full
	pools := mapValues(r.c.pools)
	r.mu.Unlock()
	if r.cfg.OnPools != nil && poolsChanged {
		r.cfg.OnPools(pools)
	}
	r.poke()
}

// reconcile computes the desired state from the model and hands what
// changed to the speaker and the dataplane (each hand-over makes its owner
// re-apply); it also keeps the node's tunnel addresses.
func (r *Router) reconcile(ctx context.Context) {
	p, ok := r.plan()
	if !ok {
		return
	}
	if p.bgp != nil {
		r.speaker.SetDesired(*p.bgp)
	}
	if p.dp != nil {
		r.dp.Set(*p.dp)
	}
	if p.tunnels == nil {
		return
	}
	err := p.tunnels(ctx)
	r.mu.Lock()
	r.tunnelErr = err
	r.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		r.log.Warn("Could not set up this node's tunnel address; will retry", "err", err)
	}
}

// plan is what one reconcile hands over: nil where nothing changed.
type plan struct {
	bgp     *bgp.Desired
	dp      *dataplane.Desired
	tunnels func(context.Context) error
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
	if time.Since(r.tunnelAt) > 2*time.Second {
		if p.tunnels = r.tunnelWork(me); p.tunnels != nil {
			r.tunnelAt = time.Now()
		}
	}
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
	return bgp.Desired{Global: g, Peers: r.c.desiredPeers(me), Exports: r.c.exports(me)}
}

// dataplaneDesired is the routing dataplane's state; r.mu is held.
func (r *Router) dataplaneDesired(me string, learned map[netip.Prefix]bgp.Route) dataplane.Desired {
	var d dataplane.Desired
	d.VXLAN, d.VTEPs = r.c.vxlanDevice(me, r.opts)
	d.IPIP = r.c.ipipDevice(me, r.opts)
	dev := dataplane.DefaultVXLANDevice
	if d.VXLAN != nil {
		d.Routes = append(d.Routes, r.c.vxlanRoutes(me, dev)...)
	}
	d.Routes = append(d.Routes, r.c.bgpRoutes(me, learned, r.opts)...)
	slices.SortFunc(d.Routes, func(a, b dataplane.Route) int { return comparePrefix(a.Dst, b.Dst) })
	return d
}
