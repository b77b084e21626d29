package driver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// IPAM is what the driver needs of the IPAM allocator (*ipam.Allocator).
type IPAM interface {
	// SetHandle records ip, which calico-ipam allocated, against handle;
	// an error wrapping ipam.ErrNotAllocated when ip is not allocated.
	SetHandle(ctx context.Context, ip netip.Addr, handle string, attrs map[string]string) error
	// AssignIP allocates ip to handle; it fails if ip is in use.
	AssignIP(ctx context.Context, ip netip.Addr, handle string, attrs map[string]string) error
	// PoolFor returns the pool containing ip.
	PoolFor(ctx context.Context, ip netip.Addr) (*resources.IPPool, error)
}

// Docker answers questions the plugin protocol leaves out
// (*dockerapi.Client).
type Docker interface {
	// NetworkName returns a network's name; errors.Is(err,
	// dockerapi.ErrNotFound) while Docker has not stored it yet.
	NetworkName(ctx context.Context, id string) (string, error)
	// NetworkEndpoints maps a network's endpoint IDs to their containers.
	NetworkEndpoints(ctx context.Context, networkID string) (map[string]dockerapi.EndpointOwner, error)
	// Container returns a container's name and labels.
	Container(ctx context.Context, id string) (dockerapi.Container, error)
	// WatchConnects streams network connect events until it fails or ctx ends.
	WatchConnects(ctx context.Context, subscribed func(), fn func(dockerapi.Connect)) error
}

// Endpoints answers questions about stored endpoints from the daemon's
// in-memory cache of the datastore, so a request never lists the cluster.
type Endpoints interface {
	// EndpointsOfSandbox returns this node's endpoints joined to the
	// sandbox (network namespace path) sandboxKey. The caller does not
	// modify what it gets.
	EndpointsOfSandbox(sandboxKey string) []*resources.WorkloadEndpoint
	// EndpointsOfNode returns the endpoints of one node (Resync).
	EndpointsOfNode(node string) []*resources.WorkloadEndpoint
}

// Veths creates and deletes workload veth pairs in the host namespace.
type Veths interface {
	CreateVeth(hostIface, tmpContainerIface string, containerMAC net.HardwareAddr, mtu int) error
	DeleteVeth(hostIface string) error
}

// hostVeths is Veths on the host namespace through package felix.
type hostVeths struct{}

func (hostVeths) CreateVeth(h, t string, mac net.HardwareAddr, mtu int) error {
	return felix.CreateVeth(h, t, mac, mtu)
}
func (hostVeths) DeleteVeth(h string) error { return felix.DeleteVeth(h) }

// Config configures a Driver.
type Config struct {
	Node  string           // this host's Calico node name (required)
	Store *datastore.Store // required
	IPAM  IPAM             // required
	// Docker is required to default profiles to network names and to
	// read container labels. Without it endpoints get no container labels
	// and are never marked pending.
	Docker Docker
	// Endpoints is the cache Join asks for a sandbox's other endpoints.
	// Without it only the endpoints this Driver joined are seen (and,
	// for a running container, the sandbox's own routes).
	Endpoints Endpoints
	Veths     Veths // default: felix on the host namespace
	MTU       int   // veth MTU; 0 = kernel default
	// RequestTimeout bounds the work of one request (default 25s; Docker
	// gives up on a plugin call after 30s... and some more).
	RequestTimeout time.Duration
	// NameWait bounds how long after CreateNetwork the driver keeps asking
	// Docker for the new network's name (default 15s).
	NameWait time.Duration
	Logger   *slog.Logger

	// SourceRoutes takes the source routing of multi-network sandboxes
	// (*felix.Dataplane); nil: none is programmed.
	SourceRoutes SourceRoutes
}

// Driver is the calico network driver. Handler serves it on the
// libnetwork remote-driver protocol.
type Driver struct {
	node      string
	store     *datastore.Store
	records   records
	ipam      IPAM
	docker    Docker
	endpoints Endpoints // nil: only local
	local     localEndpoints
	veths     Veths
	sources   SourceRoutes // nil: no source routing
	mtu       int
	timeout   time.Duration
	nameFor   time.Duration
	log       *slog.Logger

	ctx    context.Context // ends at Close; parents background work
	cancel context.CancelFunc
	bg     sync.WaitGroup
	labels *labeler // nil without Docker

	mu        sync.Mutex
	deleting  map[string]bool      // endpoint IDs whose veth is being deleted
	preparing map[string]*vethPrep // veths CreateEndpoint is creating (vethprep.go)

	namespaces sync.Map // network ID -> namespace of its endpoints (namespace.go)
}

// New returns a Driver.
func New(cfg Config) (*Driver, error) {
	if cfg.Node == "" || cfg.Store == nil || cfg.IPAM == nil {
		return nil, errors.New("calico driver: Node, Store and IPAM are required")
	}
	if cfg.Veths == nil {
		cfg.Veths = hostVeths{}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 25 * time.Second
	}
	if cfg.NameWait <= 0 {
		cfg.NameWait = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Driver{
		node: cfg.Node, store: cfg.Store, records: records{store: cfg.Store},
		ipam: cfg.IPAM, docker: cfg.Docker, endpoints: cfg.Endpoints, local: newLocalEndpoints(), veths: cfg.Veths,
		sources: cfg.SourceRoutes, mtu: cfg.MTU,
		timeout: cfg.RequestTimeout, nameFor: cfg.NameWait,
		log: cfg.Logger.With("component", "driver"), ctx: ctx, cancel: cancel,
		deleting: map[string]bool{}, preparing: map[string]*vethPrep{},
	}
	if d.docker != nil {
		d.labels = newLabeler(d)
		d.labels.start()
	}
	return d, nil
}

// Close stops background work (name lookups, label resolution, veth
// creation and deletion), waits for it, and deletes the veths made ahead
// of a Join that never came (vethprep.go).
func (d *Driver) Close() {
	d.cancel()
	d.bg.Wait()
	d.deleteUnjoined()
}

// reqCtx bounds background work started for a request (srcroute.go).
func (d *Driver) reqCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(d.ctx, d.timeout)
}

// cleanupTimeout bounds the undo of a failed request.
const cleanupTimeout = 10 * time.Second

// cleanupCtx is the context of the undo work of a request that failed:
// the request's own context may be what ran out.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
}

// GetCapabilities answers "local": the same network is created on each
// host (as the reference set-ups do) and shares state through etcd, not
// through Docker. Docker 20.10 refuses "global" outside swarm mode
// ("This node is not a swarm manager"), verified on this engine.
func (d *Driver) GetCapabilities() *network.CapabilitiesResponse {
	return &network.CapabilitiesResponse{Scope: network.LocalScope, ConnectivityScope: network.LocalScope}
}

var errSwarm = errors.New("the calico driver does not support swarm-scoped networks; create a local network on each host")

// EndpointInfo reports where an endpoint lives; it needs no lookup.
func (d *Driver) EndpointInfo(_ context.Context, req *network.InfoRequest) (*network.InfoResponse, error) {
	if err := checkID("EndpointID", req.EndpointID); err != nil {
		return nil, err
	}
	return &network.InfoResponse{Value: map[string]string{
		"hostInterface":    HostIface(req.EndpointID),
		"workloadEndpoint": WorkloadEndpointName(d.node, req.EndpointID),
	}}, nil
}

// fail logs a failed request and returns its error for Docker to show.
func (d *Driver) fail(op string, err error, args ...any) error {
	d.log.Warn(op+" failed", append(args, "err", err)...)
	return err
}
