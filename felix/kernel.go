package felix

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/ipsets"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nat"
	"github.com/calico-docker/calico-libnetwork/felix/ns"
	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// kernelState is the dataplane goroutine's handle on the kernel and its
// memory of what it already did. Only that goroutine uses it.
type kernelState struct {
	cfg     Config
	log     *slog.Logger
	ns      *ns.NS
	nl      *netlink.Handle
	dumps   *netlink.Handle   // for our route dumps: strict checking on where the kernel has it, else nl
	rt      *nl.NetlinkSocket // a route socket in the namespace, for our own dumps (linkdump.go)
	backend iptables.Backend
	filters map[int]*iptables.Table // filter table by IP version
	sets    map[int]*ipsets.Manager // IP sets by IP version, once a state uses them
	runner  iptables.Runner         // runs iptables and ipset in the namespace
	// appliedFilters are the states last handed to filters.
	appliedFilters map[int]*FilterState
	// host are the raw and mangle tables by IP version, made when a state
	// first has host endpoint rules (hosttables.go).
	host map[int]*hostTables

	// links is the interface list of the apply under way (program), read
	// once however many steps need it; nil between applies.
	links map[string]netlink.Link
	// settings is each interface's settings, by ifindex, when the apply
	// under way read them with links (checkMany); nil otherwise.
	settings map[int32]*linkConf
	// linkCount is how many interfaces the last link dump found.
	linkCount int
	// linkDumps, routeDumps and neighDumps count the dumps of links, of our
	// routes and of ARP entries, hostAddrReads the reads of the host's
	// addresses (read by tests).
	linkDumps, routeDumps, hostAddrReads, neighDumps atomic.Int64
	// linkCache is the interfaces by name as the endpoint side last knew
	// them (linkcache.go); nil: its next sync dumps them. relinked are the
	// ifindexes (old and new) of those the apply under way looked up again.
	linkCache map[string]netlink.Link
	relinked  map[int]bool
	// routeMemo is our routes as the last endpoint sync left them; nil:
	// the next one dumps them (routes.go).
	routeMemo map[routeKey]bool
	// neighMemo is our ARP entries as the last endpoint sync left them;
	// nil: the next one dumps them (neigh.go).
	neighMemo map[neighKey]net.HardwareAddr
	// wantedRoutes is published for the kernel watcher (monitor.go): the
	// routes the last endpoint sync wanted, set before it deletes any.
	wantedRoutes atomic.Pointer[map[routeKey]*netlink.Route]

	// configured maps each workload interface whose sysctls are set to its
	// ifindex; a new ifindex (the interface was recreated) means redo.
	configured map[string]int
	// iptablesDirty means the iptables tables must be re-read and applied.
	iptablesDirty bool
	// endpointsFailed means the last endpoint sync failed: redo it.
	endpointsFailed bool
	// routes is the number of our routes after the last endpoint sync.
	routes int
	// setsChanged and setsShrunk, by IP version: the desired IP sets
	// changed, and some set stopped being desired, since the last
	// successful apply.
	setsChanged, setsShrunk map[int]bool

	// Managers of what other components hand over, made on first use.
	remote        *routes.Manager      // routing's routes and tunnels (tunnels.go)
	remoteStatus  routes.Status        // its last apply
	remoteApplies int                  // how many applies it had
	remoteGen     uint64               // the Dataplane.remoteGen last applied
	remoteFailed  bool                 // its last apply failed: redo it
	nat           map[int]*nat.Manager // natOutgoing by IP version (natpools.go)
	natFailed     bool
	// nft is the nftables dataplane (nftables.go), nil in iptables mode;
	// nftGone: iptables mode removed what an nftables run left.
	nft     *nftState
	nftGone bool
	// sandboxes are the sandboxes programmed (namespace seen) with entries
	// (sandboxes.go); sandboxesPending: some entry waits for its interface
	// or namespace; sandboxesGone: namespaces found gone by the last apply.
	sandboxes        map[string]bool
	sandboxesPending bool
	sandboxesGone    map[string]bool
	sourcesFailed    bool
	// strays are the stray workload veth pairs seen by full resyncs, by
	// host-side name (strays.go).
	strays map[string]strayPair
}

// openKernel opens the namespace, a netlink handle in it, and detects the
// iptables backend unless configured. wrap, if set, wraps the command
// runner (tests inject failures with it).
func openKernel(ctx context.Context, cfg Config, log *slog.Logger,
	wrap func(iptables.Runner) iptables.Runner) (_ *kernelState, err error) {
	switch cfg.IptablesBackend {
	case "", iptables.BackendLegacy, iptables.BackendNFT:
	default:
		return nil, fmt.Errorf("iptables backend %q: want %q, %q or empty to detect",
			cfg.IptablesBackend, iptables.BackendLegacy, iptables.BackendNFT)
	}
	if err := checkDataplane(cfg); err != nil {
		return nil, err
	}
	n, err := ns.Open(cfg.NetNS)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	h, err := n.NetlinkHandle()
	if err != nil {
		return nil, err
	}
	rt, err := routeSocket(n)
	if err != nil {
		h.Close()
		return nil, err
	}
	dumps := strictHandle(n, log)
	if dumps == nil {
		dumps = h
	}
	var runner iptables.Runner = n
	if wrap != nil {
		runner = wrap(runner)
	}
	backend := cfg.IptablesBackend
	if backend == "" && !nftMode(cfg) { // nftables mode finds Docker's backend without iptables (openNft)
		dctx, cancel := context.WithTimeout(ctx, iptablesTimeout)
		backend = iptables.DetectBackend(dctx, runner)
		cancel()
	}
	log.Info("Dataplane starting", "netns", cfg.NetNS, "iptablesBackend", backend,
		"routeProtocol", cfg.RouteProtocol, "ipv6", cfg.EnableIPv6)
	k := &kernelState{
		cfg: cfg, log: log, ns: n, nl: h, rt: rt, dumps: dumps, backend: backend,
		configured: map[string]int{}, iptablesDirty: true,
		filters: map[int]*iptables.Table{}, appliedFilters: map[int]*FilterState{}, host: map[int]*hostTables{},
		sets: map[int]*ipsets.Manager{}, runner: runner,
		setsChanged: map[int]bool{}, setsShrunk: map[int]bool{}, sandboxes: map[string]bool{},
	}
	versions := []int{4}
	if cfg.EnableIPv6 {
		versions = append(versions, 6)
	}
	if nftMode(cfg) {
		return k, k.openNft(versions)
	}
	for _, v := range versions {
		k.filters[v] = k.newFilterTable(v)
	}
	return k, nil
}

// newFilterTable is our part of IP version v's iptables filter table.
func (k *kernelState) newFilterTable(v int) *iptables.Table {
	return iptables.NewTable(iptables.TableConfig{
		Name: "filter", IPVersion: v, Backend: k.backend, Runner: k.runner, Logger: k.log,
		AnyOrder: rules.AnyOrderChains,
	})
}

func (k *kernelState) close() {
	if k.nft != nil {
		_ = k.nft.drv.Close()
	}
	k.nl.Close()
	k.rt.Close()
	if k.dumps != k.nl {
		k.dumps.Close()
	}
	k.ns.Close()
}

// listLinks dumps the namespace's interfaces, by name; with settings, it
// reads their settings too (k.settings). Only the apply's first call
// dumps.
func (k *kernelState) listLinks(settings bool) (map[string]netlink.Link, error) {
	if k.links != nil {
		return k.links, nil // this apply read them already
	}
	type dump struct {
		links []netlink.Link
		conf  map[int32]*linkConf
	}
	d, err := retryDump("links", func() (d dump, err error) {
		d.links, d.conf, err = dumpLinks(k.rt, settings)
		return d, err
	})
	if err != nil {
		return nil, err
	}
	if d.conf != nil {
		_, err := retryDump("ARP table parameters", func() (struct{}, error) { return struct{}{}, addProxyDelays(k.rt, d.conf) })
		if err != nil { // proxy_delay is read from /proc then
			k.log.Warn("Reading proxy_delay from /proc instead", "err", err)
		}
	}
	byName := make(map[string]netlink.Link, len(d.links))
	for _, l := range d.links {
		byName[l.Attrs().Name] = l
	}
	k.links, k.settings, k.linkCount = byName, d.conf, len(d.links)
	k.linkDumps.Add(1)
	return byName, nil
}

// strictHandle opens a netlink handle in namespace n with strict checking
// on, for route dumps the kernel filters (by protocol and table); nil where
// the kernel lacks it (before 4.20): those dumps are filtered here.
func strictHandle(n *ns.NS, log *slog.Logger) *netlink.Handle {
	h, err := n.NetlinkHandle()
	if err == nil {
		if err = h.SetStrictCheck(true); err != nil {
			h.Close()
		}
	}
	if err != nil {
		log.Info("Route dumps filtered in user space (no strict netlink checking)", "err", err)
		return nil
	}
	return h
}

// routeSocket opens a route netlink socket in namespace n.
func routeSocket(n *ns.NS) (*nl.NetlinkSocket, error) {
	target := netns.None()
	if h := n.Handle(); h != nil {
		target = *h
	}
	s, err := nl.GetNetlinkSocketAt(target, netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("route socket in netns %s: %w", n.Path(), err)
	}
	return s, nil
}

// ensureUp brings an interface administratively up.
func (k *kernelState) ensureUp(link netlink.Link) error {
	if link.Attrs().Flags&net.FlagUp != 0 {
		return nil
	}
	if err := k.nl.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", link.Attrs().Name, err)
	}
	return nil
}
