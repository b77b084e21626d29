package felix

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Source routing inside multi-network sandboxes.
//
// A container on several calico networks has one calico interface per
// network; the n-th one's gateway is 169.254.1.n. Docker gives the sandbox
// one default route, so a reply from the address of another interface
// would leave by the wrong interface, where the host's strict reverse-path
// filter drops it. The network driver therefore records, per endpoint of
// such a sandbox, a SourceRoute (SetSourceRoute), and the loop programs it
// inside the sandbox's namespace: routing table SourceTableBase+n holding
// "default via 169.254.1.n dev <iface>" and the rule "from <address>
// lookup <table>" at priority SourceTableBase+n, so traffic leaves by the
// interface that owns its source address. IPv6 is the same with the
// gateway IPv6Gateway, plus the network's IPv6 subnets routed in the main
// table by the interface (Docker cannot place them: the IPv6 gateway is
// the same link-local address on every interface).
//
// Two interfaces whose networks share address space (two networks
// without --subnet draw from the same pools) cannot be told apart by a
// subnet route: traffic to the peers of both would leave by the default
// route, with the first interface's address, and the second network's
// profile would refuse it. The driver then sets Peers on each such
// interface's SourceRoute, and every IPv4 address of that network's
// other endpoints (Config.NetworkPeers) gets a /32 route in the sandbox's
// main table, "via 169.254.1.n dev <iface> src <address>", and, when the
// interface has an IPv6 address (Addr6), every IPv6 address a /128 route
// "via IPv6Gateway dev <iface> src <IPv6 address>", all with protocol
// DefaultRouteProtocol: the peer sees the address it knows on its
// network. Should a peer be on two such networks, the interface with the
// lower table wins. Peer routes follow the network's endpoints: a
// datastore change to a WorkloadEndpoint of such a network (OnSyncEvent)
// marks the sandboxes for re-sync, and each resync re-reads them.
//
// Docker creates the interface (and, for a starting container, the
// namespace) only after Join returns, so a SourceRoute whose interface or
// namespace is not there yet is retried soon (from 20 ms, backing off to
// 1 s) for up to SandboxWait; it never holds back InSync. Rules whose
// priority equals their table in our range are ours: in a sandbox we
// program, the ones not desired are deleted. Everything is read back and
// repaired at every full resync. A sandbox whose namespace is gone (the
// container stopped) is forgotten.

// SourceTableBase is the routing table (and rule priority) of gateway
// 169.254.1.0: the interface with gateway 169.254.1.n uses SourceTableBase+n.
const SourceTableBase = 1000

// SandboxWait bounds how long a SourceRoute whose namespace or interface
// does not exist yet is retried before only the resync timer looks again
// (or, for a namespace never seen, before it is forgotten).
const SandboxWait = time.Minute

const (
	sandboxRetryMin = 20 * time.Millisecond
	sandboxRetryMax = time.Second
)

var sourceGateways = netip.MustParsePrefix("169.254.1.0/24")

// SourceRoute is one calico interface of a multi-network sandbox.
type SourceRoute struct {
	Sandbox  string         // the sandbox's network namespace (absolute path, Docker's SandboxKey)
	Addr     netip.Addr     // the interface's IPv4 address
	Gateway  netip.Addr     // its IPv4 gateway, 169.254.1.n
	Addr6    netip.Addr     // its IPv6 address; invalid when it has none
	Subnets6 []netip.Prefix // its network's IPv6 subnets, routed by the interface
	// Peers is the network whose other endpoints get host routes via this
	// interface (its addresses share a pool with another interface's):
	// /32s, and /128s when Addr6 is set; empty: none.
	Peers string
}

// Table is the routing table and rule priority of the interface.
func (r SourceRoute) Table() int { return SourceTableBase + int(r.Gateway.As4()[3]) }

// Validate says what is wrong with r, naming the field.
func (r SourceRoute) Validate() error {
	switch {
	case r.Sandbox == "" || !filepath.IsAbs(r.Sandbox):
		return fmt.Errorf("source route: Sandbox %q must be the absolute path of the sandbox's network namespace", r.Sandbox)
	case !r.Addr.Is4():
		return fmt.Errorf("source route: Addr %q must be the interface's IPv4 address", r.Addr)
	case !r.Gateway.Is4() || !sourceGateways.Contains(r.Gateway) || r.Gateway == sourceGateways.Addr():
		return fmt.Errorf("source route: Gateway %q must be one of 169.254.1.1-169.254.1.255", r.Gateway)
	case r.Addr6.IsValid() && (!r.Addr6.Is6() || r.Addr6.Is4In6()):
		return fmt.Errorf("source route: Addr6 %q must be an IPv6 address (or unset)", r.Addr6)
	}
	for i, s := range r.Subnets6 {
		if !s.IsValid() || !s.Addr().Is6() || !r.Addr6.IsValid() {
			return fmt.Errorf("source route: Subnets6[%d] %q must be an IPv6 prefix, with Addr6 set", i, s)
		}
	}
	return nil
}

// sourceEntry is a recorded SourceRoute.
type sourceEntry struct {
	SourceRoute
	id    string    // endpoint ID
	since time.Time // when recorded
	seq   uint64    // recording order, to forget only what a sync saw
}

// SetSourceRoute records the source routing of one endpoint's interface in
// its sandbox; the loop programs it soon. Invalid input is refused with an
// error naming the field, and nothing is recorded.
func (d *Dataplane) SetSourceRoute(endpointID string, r SourceRoute) error {
	if endpointID == "" {
		return errors.New("source route: endpoint ID is empty")
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("endpoint %s: %w", endpointID, err)
	}
	r.Subnets6 = slices.Clone(r.Subnets6)
	d.change(func() {
		d.sourceSeq++
		d.sources[endpointID] = sourceEntry{SourceRoute: r, id: endpointID, since: time.Now(), seq: d.sourceSeq}
		d.sourcesDirty = true
	})
	return nil
}

// RemoveSourceRoute forgets an endpoint's source routing; its rule goes
// from the sandbox at the next apply, if the sandbox still exists.
func (d *Dataplane) RemoveSourceRoute(endpointID string) {
	d.change(func() { delete(d.sources, endpointID); d.sourcesDirty = true })
}

// peersChanged marks the sandboxes for re-sync when ev changes an
// endpoint of a network some SourceRoute routes the peers of (a deleted
// endpoint's network is unknown: any deletion counts); d.mu must be held.
func (d *Dataplane) peersChanged(ev model.SyncEvent) {
	nets := map[string]bool{}
	for _, e := range d.sources {
		if e.Peers != "" {
			nets[e.Peers] = true
		}
	}
	if len(nets) == 0 || d.sourcesDirty {
		return
	}
	for _, u := range ev.Updates {
		if u.Kind != resources.KindWorkloadEndpoint {
			continue
		}
		w, ok := u.Object.(*resources.WorkloadEndpoint)
		if ev.Full || !ok || nets[w.Spec.Network] {
			d.sourcesDirty = true
			return
		}
	}
}

// SourceRoutes returns the recorded source routes by endpoint ID.
func (d *Dataplane) SourceRoutes() map[string]SourceRoute {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]SourceRoute, len(d.sources))
	for id, e := range d.sources {
		out[id] = e.SourceRoute
	}
	return out
}

// forgetSandboxes drops the entries of sandboxes whose namespace is gone,
// recorded no later than seq (a newer one is looked at again).
func (d *Dataplane) forgetSandboxes(gone map[string]bool, seq uint64) {
	if len(gone) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, e := range d.sources {
		if gone[e.Sandbox] && e.seq <= seq {
			delete(d.sources, id)
		}
	}
	d.log.Debug("Forgot sandboxes whose namespace is gone", "sandboxes", len(gone))
}

// sandboxesByPath groups entries by sandbox.
func sandboxesByPath(entries []sourceEntry) map[string][]sourceEntry {
	out := map[string][]sourceEntry{}
	for _, e := range entries {
		out[e.Sandbox] = append(out[e.Sandbox], e)
	}
	return out
}

// syncSandboxes converges every sandbox with entries, and cleans the ones
// we programmed that have none left. It returns the sandboxes whose
// namespace is gone; k.sandboxesPending says whether some entry waits for
// its namespace or interface.
func (k *kernelState) syncSandboxes(entries []sourceEntry, now time.Time) (map[string]bool, error) {
	want := sandboxesByPath(entries)
	gone := map[string]bool{}
	errs := errList{what: "program sandbox source routes"}
	k.sandboxesPending = false
	paths := slices.Sorted(func(yield func(string) bool) {
		for p := range want {
			if !yield(p) {
				return
			}
		}
		for p := range k.sandboxes {
			if _, ok := want[p]; !ok && !yield(p) {
				return
			}
		}
	})
	for _, path := range paths {
		es := want[path]
		pending, err := syncSandbox(path, es, k.cfg.NetworkPeers)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if len(es) == 0 || k.sandboxes[path] || !waiting(es, now) {
				gone[path] = true
				delete(k.sandboxes, path)
				continue
			}
			k.sandboxesPending = true
			continue
		case err != nil:
			errs.add(fmt.Errorf("sandbox %s: %w", path, err))
		}
		if pending && waiting(es, now) {
			k.sandboxesPending = true
		}
		if len(es) == 0 {
			delete(k.sandboxes, path)
		} else {
			k.sandboxes[path] = true
		}
	}
	return gone, errs.err()
}

// waiting reports whether some entry is young enough to be retried soon.
func waiting(es []sourceEntry, now time.Time) bool {
	return slices.ContainsFunc(es, func(e sourceEntry) bool { return now.Sub(e.since) < SandboxWait })
}
