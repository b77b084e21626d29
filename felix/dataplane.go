package felix

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nat"
	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
)

const (
	// DefaultRouteProtocol is the rtnetlink protocol number marking our
	// routes. 80 is not assigned in /etc/iproute2/rt_protos nor used by
	// known routing daemons (bird 12, zebra 11, bgp 186, ...).
	DefaultRouteProtocol = 80
	// DefaultResyncInterval is how often the whole dataplane is re-read and
	// repaired even when nothing changed.
	DefaultResyncInterval = 60 * time.Second
	// DefaultInterfacePrefix starts the name of every host-side workload veth.
	DefaultInterfacePrefix = "cali"

	retryMin = 100 * time.Millisecond
	retryMax = 30 * time.Second
	// applyHoldoff is, while changes arrive during applies, the least time
	// between the end of one apply and the start of the next (see loop).
	applyHoldoff = 100 * time.Millisecond
)

// Config configures a Dataplane. The zero value is usable.
type Config struct {
	// NetNS is the path of the network namespace to program (for example
	// /run/netns/host1); empty means the process's own.
	NetNS string
	// ResyncInterval between full resyncs; default DefaultResyncInterval.
	ResyncInterval time.Duration
	// RouteProtocol marks our routes; default DefaultRouteProtocol. Routes
	// with this protocol in the main table that we do not want are deleted.
	RouteProtocol int
	// InterfacePrefix of host-side workload interfaces; default "cali".
	InterfacePrefix string
	// EnableIPv6 programs IPv6 routes, sysctls and ip6tables. Off by default:
	// net.ipv6.conf.all.forwarding=1 stops the host accepting router
	// advertisements, which may cost it its own IPv6 default route.
	EnableIPv6 bool
	// IptablesBackend forces "legacy" or "nft"; empty detects it at Start.
	IptablesBackend iptables.Backend
	// Dataplane chooses how filtering and natOutgoing are programmed:
	// DataplaneIptables (default: iptables-restore and ipset) or
	// DataplaneNftables (our own nftables tables over netlink, see
	// felix/nft; nftables.go).
	Dataplane string
	// NftablesForwardHook keeps the nftables dataplane's workload ingress
	// policy on the forward hook where the kernel could hook the
	// workloads' interfaces' egress instead (Linux 6.16 or later: each
	// forwarded packet then passes only its own interface's shard;
	// felix/nftrules, egress.go). Off: egress where the kernel has it.
	NftablesForwardHook bool
	// Logger; default slog.Default().
	Logger *slog.Logger

	// NodeName is this host's name in the datastore (WorkloadEndpoint
	// spec.node). Setting it makes the Dataplane datastore-fed: OnSyncEvent
	// takes sync events of calc.Kinds and this node's endpoints are
	// programmed from them (see policy.go). Nothing is programmed until the
	// first full sync event arrives.
	NodeName string
	// Policy enforces Calico policy on this node's endpoints (needs
	// NodeName): chains and IP sets rendered by felix/rules replace
	// BaseFilterState.
	Policy bool
	// EndpointToHostAccept lets workloads reach the host itself (once
	// their egress policy allowed it). Default false: the host is protected
	// from its workloads; the host may always reach its workloads.
	EndpointToHostAccept bool
	// HostEndpoints configures the protection of this node's HostEndpoints
	// (hosttables.go): the failsafe ports. Its zero value has Calico's
	// defaults. FelixConfiguration's failsafe ports map onto it.
	HostEndpoints HostEndpointConfig
	// IgnoreLooseRPF lets Start proceed with Policy when
	// net.ipv4.conf.all.rp_filter is 2 (loose), which lets workloads spoof
	// source addresses and so get past policy.
	IgnoreLooseRPF bool

	// TunnelRouteProtocol marks the routes routing hands over (SetRoutes):
	// routes to other hosts' workloads and through tunnels; default
	// routes.DefaultRouteProtocol (81). Only touched once SetRoutes was
	// called; removed when the Dataplane stops.
	TunnelRouteProtocol int
	// OwnedInterfaces, if set, returns the host-side interfaces of this
	// node's endpoints from the freshest view there is (the daemon passes
	// its datastore cache); felix also counts its own endpoints. A workload
	// veth with both ends on the host that neither names is a stray,
	// deleted after StrayVethGrace (strays.go).
	OwnedInterfaces func() []string
	// NetworkPeers, if set, returns the addresses (IPv4 and IPv6) of the endpoints
	// of one network (the daemon passes its datastore cache's index): a
	// SourceRoute with Peers routes them in its sandbox (sandboxes.go).
	// Without it no peer route is programmed.
	NetworkPeers func(network string) []netip.Addr
	// StrayVethGrace is how long a stray workload veth pair is left alone
	// (default DefaultStrayVethGrace); negative: never reaped.
	StrayVethGrace time.Duration
	// ProbeIPIP makes Start check whether the kernel supports IPIP
	// (creating and deleting a probe device) for IPIPSupport; routing asks
	// before it plans IPIP tunnels.
	ProbeIPIP bool
	// FlowLogs makes policy log the first packet of every connection it
	// decides to NFLOG group FlowLogGroup, with the deciding rule's
	// identifier (felix/rules/nflog.go; RuleID maps it back), and turns on
	// conntrack accounting; OpenFlowLogs reads them.
	FlowLogs bool
}

// FlowLogGroup is the NFLOG group flow logs use (felix's own choice).
const FlowLogGroup = 1

// Endpoint is a local workload endpoint as the dataplane needs it.
type Endpoint struct {
	ID        string           // unique key, e.g. the Docker endpoint ID
	IfaceName string           // host side of the veth, e.g. cali0123456789a
	IPv4Nets  []netip.Prefix   // normally /32s
	IPv6Nets  []netip.Prefix   // normally /128s
	MAC       net.HardwareAddr // workload side MAC; nil if unknown
}

// Dataplane programs local endpoints into the kernel from one goroutine.
// Its methods are safe for concurrent use.
type Dataplane struct {
	cfg  Config
	log  *slog.Logger
	kick chan struct{}
	// lazyKick asks for an apply within applyHoldoff: only other nodes'
	// endpoints changed (see OnSyncEvent).
	lazyKick chan struct{}
	done     chan struct{}

	mu        sync.Mutex
	started   bool
	endpoints map[string]Endpoint
	blocks    []netip.Prefix
	// filterStates is the desired filter table by IP version (values are
	// never mutated, only replaced).
	filterStates map[int]*FilterState
	gen          uint64 // bumped on every change of desired state
	// endpointsDirty asks the next apply to re-sync the endpoint side
	// (interfaces, sysctls, routes, neighbours); without it, and outside a
	// full resync, an apply only programs the filter table.
	endpointsDirty bool
	// dirtyLinks are the workload interfaces the kernel watcher saw change
	// since the last apply; linksStale: it may have missed some (it
	// (re)subscribed), so the next endpoint sync dumps the links.
	dirtyLinks map[string]bool
	linksStale bool
	// routesStale: a route of ours went behind our back, or the watcher
	// (re)subscribed: the next endpoint sync dumps our routes.
	routesStale bool
	// hostAddrsStale: an address of a host interface (not a workload's)
	// changed, or the watcher (re)subscribed: a host endpoint given by its
	// expectedIPs only is bound again from the host's addresses
	// (hostinputs.go). needHostAddrs (the policy calculation has such a
	// host endpoint) decides whether that change wakes the loop.
	hostAddrsStale bool
	needHostAddrs  atomic.Bool
	wantFull       bool // Kick asked for a full resync
	idle           bool // the last apply waited for the first sync (loop: no holdoff after it)
	status         Status
	syncedCh       chan struct{} // closed while in sync

	// ruleIDs maps the NFLOG prefixes of the last render to their rules;
	// prevRuleIDs those of the render before (packets logged just before a
	// change still resolve). Replaced, never mutated.
	ruleIDs, prevRuleIDs map[string]rules.RuleID

	kernel *kernelState // owned by the loop goroutine
	policy *policyState // owned by the loop goroutine; nil without Config.Policy
	// routeWakes and remoteWakes count the deletions of our workload
	// routes and of routing's that woke the loop (monitor.go).
	routeWakes, remoteWakes atomic.Uint64

	// events are sync events recorded by OnSyncEvent and not yet taken by
	// the loop; eventsSince is when the oldest of them was recorded.
	events      []model.SyncEvent
	eventsSince time.Time
	// localKeys are the keys (namespace/name) of this node's
	// WorkloadEndpoints as OnSyncEvent last saw them.
	localKeys map[string]bool

	// Desired state of the other managers (tunnels.go, natpools.go,
	// sandboxes.go): nil until first set.
	remote       *routes.Desired
	remoteDirty  bool
	remoteGen    uint64 // bumped by SetRoutes
	remoteStatus routes.Status
	// remoteStatusGen is the remoteGen remoteStatus applied.
	remoteStatusGen uint64
	// remoteDsts indexes remote's route destinations as of remoteDstsGen
	// (the kernel watcher's, monitor.go).
	remoteDsts    map[netip.Prefix]bool
	remoteDstsGen uint64

	ipipOK       bool
	ipipReason   string
	natPools     []nat.Pool
	natPrimed    bool
	natDirty     bool
	sources      map[string]sourceEntry // by endpoint ID
	sourcesDirty bool
	sourceSeq    uint64

	// settings are the live settings (settings.go), bumped settingsGen on
	// every SetSettings; appliedSettingsGen and resyncEvery are the loop's.
	settings           Settings
	settingsGen        uint64
	appliedSettingsGen uint64
	resyncEvery        time.Duration

	// wrapRunner, set by tests before Start, wraps the command runner.
	wrapRunner func(iptables.Runner) iptables.Runner
}

// New returns a Dataplane; nothing is programmed until Start.
func New(cfg Config) *Dataplane {
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = DefaultResyncInterval
	}
	if cfg.RouteProtocol == 0 {
		cfg.RouteProtocol = DefaultRouteProtocol
	}
	if cfg.TunnelRouteProtocol == 0 {
		cfg.TunnelRouteProtocol = routes.DefaultRouteProtocol
	}
	if cfg.InterfacePrefix == "" {
		cfg.InterfacePrefix = DefaultInterfacePrefix
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.StrayVethGrace == 0 {
		cfg.StrayVethGrace = DefaultStrayVethGrace
	}
	base4, base6 := BaseFilterState(cfg.InterfacePrefix), BaseFilterState(cfg.InterfacePrefix)
	d := &Dataplane{
		filterStates: map[int]*FilterState{4: &base4, 6: &base6},
		cfg:          cfg,
		log:          cfg.Logger.With("component", "felix"),
		kick:         make(chan struct{}, 1),
		lazyKick:     make(chan struct{}, 1),
		localKeys:    map[string]bool{},
		done:         make(chan struct{}),
		endpoints:    map[string]Endpoint{},
		sources:      map[string]sourceEntry{},
		syncedCh:     make(chan struct{}),
		// The first apply is full anyway.
		endpointsDirty: true,
		settings:       settingsFrom(cfg),
		resyncEvery:    cfg.ResyncInterval,
	}
	if cfg.NodeName != "" {
		d.policy = newPolicyState(cfg)
	}
	return d
}

// Start opens the namespace, detects the iptables backend and starts the
// goroutine that owns the dataplane; it stops when ctx is cancelled (see
// Done). The first apply is a full resync.
func (d *Dataplane) Start(ctx context.Context) error {
	d.mu.Lock()
	already := d.started
	d.started = true
	d.mu.Unlock()
	if already {
		return errors.New("felix dataplane already started")
	}
	if err := checkPolicyConfig(d.cfg); err != nil {
		d.mu.Lock()
		d.started = false
		d.mu.Unlock()
		return err
	}
	k, err := openKernel(ctx, d.cfg, d.log, d.wrapRunner)
	if err == nil && d.cfg.Policy {
		if err = checkRPFilter(k.ns, d.cfg.IgnoreLooseRPF, d.log); err != nil {
			k.close()
		}
	}
	if err != nil {
		d.mu.Lock()
		d.started = false
		d.mu.Unlock()
		return err
	}
	d.mu.Lock()
	d.status.Backend, d.status.Dataplane = k.backend, DataplaneIptables
	if k.nft != nil {
		d.status.Dataplane, d.status.NftablesHook = DataplaneNftables, k.nft.hook()
	}
	if d.cfg.ProbeIPIP { // before the loop starts: still the only writer
		d.ipipOK, d.ipipReason = routes.ProbeIPIPWith(k.nl)
	}
	d.mu.Unlock()
	d.kernel = k // handed to the loop goroutine, its only user from now on
	if d.policy != nil {
		d.policy.kernel, d.policy.needHostAddrs = k, &d.needHostAddrs // host endpoints by address (hostinputs.go)
	}
	watching := d.watchKernel(ctx, k.ns, &k.wantedRoutes)
	go d.loop(ctx, watching)
	return nil
}

// Done is closed when the goroutine started by Start has stopped.
func (d *Dataplane) Done() <-chan struct{} { return d.done }

// OnEndpointUpdate records the desired state of a local endpoint.
func (d *Dataplane) OnEndpointUpdate(ep Endpoint) {
	ep.IPv4Nets, ep.IPv6Nets = slices.Clone(ep.IPv4Nets), slices.Clone(ep.IPv6Nets)
	ep.MAC = slices.Clone(ep.MAC)
	d.change(func() { d.endpoints[ep.ID], d.endpointsDirty = ep, true })
}

// OnEndpointRemove forgets a local endpoint; its routes go at the next apply.
func (d *Dataplane) OnEndpointRemove(id string) {
	d.change(func() { delete(d.endpoints, id); d.endpointsDirty = true })
}

// SetLocalBlocks sets this host's affine IPAM blocks, each programmed as a
// blackhole route.
func (d *Dataplane) SetLocalBlocks(blocks []netip.Prefix) {
	blocks = slices.Clone(blocks)
	d.change(func() { d.blocks, d.endpointsDirty = blocks, true })
}

// Kick requests a full resync soon.
func (d *Dataplane) Kick() {
	d.mu.Lock()
	d.wantFull = true
	d.mu.Unlock()
	d.poke()
}

// InSync reports whether the first full apply is done, the last apply
// succeeded and every change recorded so far has been applied. Endpoints
// whose interface does not exist yet do not hold it back: they are
// programmed when the interface appears.
func (d *Dataplane) InSync() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status.InSync
}

// WaitSynced blocks until InSync or ctx ends.
func (d *Dataplane) WaitSynced(ctx context.Context) error {
	for {
		d.mu.Lock()
		in, ch := d.status.InSync, d.syncedCh
		d.mu.Unlock()
		if in {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
