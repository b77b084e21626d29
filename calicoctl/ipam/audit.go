package ipam

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// DefaultGrace is how old an allocation without an endpoint must be before
// ipam check calls it leaked. The IPAM driver allocates an address under a
// provisional handle before Docker creates the endpoint; the network driver
// re-owns it to the endpoint (handle libnetwork.<endpoint ID>) at
// CreateEndpoint and stores the WorkloadEndpoint just after. An address in
// that window has no endpoint yet but is not a leak.
const DefaultGrace = 10 * time.Minute

// Handle prefixes and allocation attributes written by the Docker drivers
// (ipamdriver and driver; a test keeps them in step).
const (
	EndpointHandlePrefix    = "libnetwork."  // driver.Handle
	ProvisionalHandlePrefix = "docker-ipam-" // ipamdriver.HandlePrefix
	AttrRequestedAt         = "requested-at" // ipamdriver.AttrRequestedAt
	attrWorkloadEndpoint    = "workloadEndpoint"
)

// ipamState is everything an audit reads, read once.
type ipamState struct {
	pools    []*resources.IPPool
	blocks   []ipam.BlockInfo
	weps     []*resources.WorkloadEndpoint
	nodes    map[string]bool
	reserved []netip.Prefix // of every IPReservation (reserved.go)
}

// ipamState connects and reads the IPAM state.
func (a *app) ipamState(ctx context.Context) (*ipamState, error) {
	st, err := a.Store(ctx)
	if err != nil {
		return nil, err
	}
	return readIPAMState(ctx, st)
}

// readIPAMState reads the blocks first and the endpoints after, so an
// endpoint created meanwhile is seen (and its address not called leaked).
func readIPAMState(ctx context.Context, st *datastore.Store) (*ipamState, error) {
	s := &ipamState{nodes: map[string]bool{}}
	var err error
	if s.blocks, err = cli.NewAllocator(st).Blocks(ctx); err != nil {
		return nil, fmt.Errorf("read IPAM blocks: %w", err)
	}
	if s.pools, err = cli.SortedPools(ctx, st); err != nil {
		return nil, err
	}
	ix, err := cli.LoadEndpoints(ctx, st)
	if err != nil {
		return nil, err
	}
	s.weps = ix.Weps
	nodes, _, err := datastore.ListAs[*resources.Node](ctx, st, "")
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range nodes {
		s.nodes[n.Name] = true
	}
	rs, _, err := datastore.ListAs[*resources.IPReservation](ctx, st, "")
	if err != nil {
		return nil, fmt.Errorf("list IP reservations: %w", err)
	}
	s.reserved = reservedNets(rs)
	return s, nil
}

// Audit is what ipam check found.
type Audit struct {
	Pools         int               `json:"pools"`
	Blocks        int               `json:"blocks"`
	Allocations   int               `json:"allocations"`
	Endpoints     int               `json:"endpoints"`
	Nodes         int               `json:"nodes"`
	GracePeriod   string            `json:"gracePeriod"`
	Leaks         []leak            `json:"leakedAddresses"`
	OrphanBlocks  []orphanBlock     `json:"blocksOfVanishedNodes"`
	NoPoolBlocks  []orphanBlock     `json:"blocksInNoPool"`
	Unallocated   []unallocatedAddr `json:"endpointsWithoutAllocation"`
	WithinGrace   []leak            `json:"notYetFlagged"`
	ProblemsTotal int               `json:"problems"`
}

// leak is an allocated address no endpoint owns.
type leak struct {
	IP        string `json:"ip"`
	Handle    string `json:"handle"`
	Node      string `json:"node,omitempty"`
	Allocated string `json:"allocated,omitempty"` // RFC 3339, "" when unknown
	Reason    string `json:"reason"`
	addr      netip.Addr
}

type orphanBlock struct {
	CIDR     string `json:"cidr"`
	Affinity string `json:"affinity"`
	InUse    int    `json:"inUse"`
}

type unallocatedAddr struct {
	Endpoint  string `json:"endpoint"`
	Container string `json:"container,omitempty"`
	IP        string `json:"ip"`
	Problem   string `json:"problem"`
}

// liveness tells which allocations belong to an existing endpoint.
type liveness struct {
	ips     map[netip.Addr]*resources.WorkloadEndpoint
	handles map[string]bool
	names   map[string]bool
}

func newLiveness(weps []*resources.WorkloadEndpoint) *liveness {
	l := &liveness{ips: map[netip.Addr]*resources.WorkloadEndpoint{}, handles: map[string]bool{}, names: map[string]bool{}}
	for _, w := range weps {
		for _, p := range w.Addrs() {
			l.ips[p.Addr()] = w
		}
		if w.Spec.Endpoint != "" {
			l.handles[EndpointHandlePrefix+w.Spec.Endpoint] = true
		}
		l.names[w.Name] = true
	}
	return l
}

// live reports whether an allocation belongs to an existing endpoint: one
// lists its address, owns its handle, or is named in its attributes.
func (l *liveness) live(al ipam.Allocation) bool {
	return l.ips[al.IP] != nil || l.handles[al.Handle] || l.names[al.Attrs[attrWorkloadEndpoint]]
}

// allocatedAt is when an allocation was made (or re-owned), if recorded.
func allocatedAt(al ipam.Allocation) (time.Time, bool) {
	for _, k := range []string{ipam.AttrTimestamp, AttrRequestedAt} {
		if t, err := time.Parse(time.RFC3339, al.Attrs[k]); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func leakReason(handle string) string {
	switch {
	case handle == "":
		return "no handle and no workload endpoint holds it"
	case strings.HasPrefix(handle, ProvisionalHandlePrefix):
		return "provisional address never given to an endpoint"
	case strings.HasPrefix(handle, EndpointHandlePrefix):
		return "its workload endpoint no longer exists"
	}
	return "no workload endpoint holds it"
}

// audit finds leaks, blocks of vanished nodes and endpoints without
// allocations. A handle is leaked when none of its addresses is live and
// its newest allocation is older than grace; allocations without a
// timestamp count as old.
func audit(s *ipamState, now time.Time, grace time.Duration) *Audit {
	a := &Audit{Pools: len(s.pools), Blocks: len(s.blocks), Endpoints: len(s.weps), Nodes: len(s.nodes),
		GracePeriod: grace.String(), Leaks: []leak{}, OrphanBlocks: []orphanBlock{}, NoPoolBlocks: []orphanBlock{}, Unallocated: []unallocatedAddr{}, WithinGrace: []leak{}}
	l := newLiveness(s.weps)
	byHandle := map[string][]ipam.Allocation{}
	var handles []string
	for _, b := range s.blocks {
		a.Allocations += len(b.Allocations)
		switch ob := (orphanBlock{CIDR: b.CIDR.String(), Affinity: b.Affinity, InUse: len(b.Allocations)}); {
		case b.Pool == "":
			a.NoPoolBlocks = append(a.NoPoolBlocks, ob)
		case b.Affinity != "" && !s.nodes[b.Affinity]:
			a.OrphanBlocks = append(a.OrphanBlocks, ob)
		}
		for _, al := range b.Allocations {
			key := al.Handle
			if key == "" {
				key = "\x00" + al.IP.String() // no handle: judged alone
			}
			if byHandle[key] == nil {
				handles = append(handles, key)
			}
			byHandle[key] = append(byHandle[key], al)
		}
	}
	for _, h := range handles {
		a.judgeHandle(byHandle[h], l, now, grace)
	}
	a.Unallocated = unallocated(s)
	for _, list := range [][]leak{a.Leaks, a.WithinGrace} {
		slices.SortFunc(list, func(x, y leak) int { return x.addr.Compare(y.addr) })
	}
	a.ProblemsTotal = len(a.Leaks) + len(a.OrphanBlocks) + len(a.NoPoolBlocks) + len(a.Unallocated)
	return a
}

func (a *Audit) judgeHandle(als []ipam.Allocation, l *liveness, now time.Time, grace time.Duration) {
	var newest time.Time
	for _, al := range als {
		if l.live(al) {
			return
		}
		if t, ok := allocatedAt(al); ok && t.After(newest) {
			newest = t
		}
	}
	recent := !newest.IsZero() && now.Sub(newest) < grace
	for _, al := range als {
		lk := leak{IP: al.IP.String(), Handle: al.Handle, Node: al.Attrs[ipam.AttrNode], Reason: leakReason(al.Handle), addr: al.IP}
		if t, ok := allocatedAt(al); ok {
			lk.Allocated = t.UTC().Format(time.RFC3339)
		}
		if recent {
			a.WithinGrace = append(a.WithinGrace, lk)
		} else {
			a.Leaks = append(a.Leaks, lk)
		}
	}
}

// unallocated finds endpoint addresses IPAM does not hold for them.
func unallocated(s *ipamState) []unallocatedAddr {
	held := map[netip.Addr]ipam.Allocation{}
	for _, b := range s.blocks {
		for _, al := range b.Allocations {
			held[al.IP] = al
		}
	}
	out := []unallocatedAddr{}
	for _, w := range s.weps {
		for _, p := range w.Addrs() {
			al, ok := held[p.Addr()]
			problem := ""
			switch {
			case !ok:
				problem = "not allocated in IPAM: another container may be given this address"
			case w.Spec.Endpoint != "" && al.Handle != EndpointHandlePrefix+w.Spec.Endpoint && al.Attrs[attrWorkloadEndpoint] != w.Name:
				problem = fmt.Sprintf("allocated to handle %s, not to this endpoint", al.Handle)
			}
			if problem != "" {
				out = append(out, unallocatedAddr{Endpoint: w.Name, Container: cli.ContainerName(w), IP: p.Addr().String(), Problem: problem})
			}
		}
	}
	return out
}
