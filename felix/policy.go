package felix

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/policy"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Policy mode: with Config.NodeName set the Dataplane is fed by the
// cache through OnSyncEvent (a cache.Subscribe of calc.Kinds: one Full event,
// then changes). The loop goroutine keeps the policy model
// (policy.Calculator): this node's WorkloadEndpoints become the endpoints
// whose routes are programmed, exactly as OnEndpointUpdate would, and with
// Config.Policy their policy is rendered into the filter table and IP sets.
// Until the first full sync event nothing at all is programmed: a restart
// never acts on a partial model (it would cut running workloads off).

// checkPolicyConfig reports settings policy mode cannot work with.
func checkPolicyConfig(cfg Config) error {
	switch {
	case cfg.Policy && cfg.NodeName == "":
		return errors.New("felix: Policy needs NodeName (the node whose endpoints to police)")
	case cfg.NodeName != "" && cfg.InterfacePrefix != rules.IfacePrefix:
		return fmt.Errorf("felix: with NodeName set, InterfacePrefix must be %q (policy rules match it), not %q",
			rules.IfacePrefix, cfg.InterfacePrefix)
	case cfg.RouteProtocol == cfg.TunnelRouteProtocol:
		return fmt.Errorf("felix: RouteProtocol and TunnelRouteProtocol are both %d: each deletes the other's routes; "+
			"give them different values (defaults 80 and 81)", cfg.RouteProtocol)
	}
	return nil
}

// OnSyncEvent records one datastore sync event (kinds calc.Kinds; others
// are ignored) and wakes the loop; events recorded before the loop takes
// them are applied together, so bursts coalesce. An event that only changes
// other nodes' WorkloadEndpoints (what a fleet's churn is made of: IP set
// members at most) is applied within the loop's holdoff (100 ms) rather
// than at once, so such changes share applies. A full event supersedes
// the events queued before it. The event must not be modified afterwards.
// Without Config.NodeName it is ignored.
func (d *Dataplane) OnSyncEvent(ev model.SyncEvent) {
	if d.policy == nil {
		d.log.Warn("OnSyncEvent without Config.NodeName; ignored")
		return
	}
	var lazy bool
	d.record(func() {
		if d.eventsSince.IsZero() {
			d.eventsSince = time.Now()
		}
		if ev.Full {
			d.events = d.events[:0]
		}
		d.events = append(d.events, ev)
		d.peersChanged(ev) // sandboxes.go
		lazy = d.remoteOnly(ev)
	})
	if lazy {
		d.pokeLazy()
	} else {
		d.poke()
	}
}

// remoteOnly reports whether ev changes nothing but other nodes'
// WorkloadEndpoints, and keeps localKeys; d.mu is held. A deletion (it
// carries no object) is remote unless the key was seen on this node.
func (d *Dataplane) remoteOnly(ev model.SyncEvent) bool {
	if ev.Full {
		clear(d.localKeys)
	}
	remote := !ev.Full
	for _, u := range ev.Updates {
		if u.Kind != resources.KindWorkloadEndpoint {
			remote = false
			continue
		}
		key := u.Namespace + "/" + u.Name
		if w, ok := u.Object.(*resources.WorkloadEndpoint); ok && w.Spec.Node == d.cfg.NodeName {
			d.localKeys[key], remote = true, false
		} else if d.localKeys[key] { // deleted, or moved off this node
			delete(d.localKeys, key)
			remote = false
		}
	}
	return remote
}

// policyState is the loop goroutine's policy model and its last render.
type policyState struct {
	calc      *policy.Calculator
	enforce   bool
	filters   map[int]*FilterState    // rendered filter states (enforce only)
	ruleIDs   map[string]rules.RuleID // NFLOG prefixes of the last render (flow logs)
	serial    uint64                  // of the last rendered FilterState
	endpoints []Endpoint              // local endpoints from the model
	epVersion uint64                  // the model's LocalEndpointsVersion they are of (0: none)
	// pendingSince is when the oldest change not yet programmed was
	// recorded; zero when everything is programmed.
	pendingSince time.Time
	// kernel reads the host's addresses for host endpoints given by
	// expectedIPs only; set by Start (nil in tests of the render alone),
	// with needHostAddrs, where the watcher learns whether they are
	// needed. hostAddrsRead: the calculation has the addresses of the
	// last read, and no address event came since (hostinputs.go).
	kernel        *kernelState
	needHostAddrs *atomic.Bool
	hostAddrsRead bool
}

func newPolicyState(cfg Config) *policyState {
	return &policyState{
		enforce: cfg.Policy,
		calc:    policy.NewCalculator(policyConfig(cfg, settingsFrom(cfg))),
	}
}

// policyConfig is the policy model's configuration under settings s.
func policyConfig(cfg Config, s Settings) policy.Config {
	var versions []int // none: endpoints only
	if cfg.Policy {
		versions = []int{4}
		if s.EnableIPv6 {
			versions = append(versions, 6)
		}
	}
	return policy.Config{NodeName: cfg.NodeName, IPVersions: versions,
		EndpointToHostAccept: s.EndpointToHostAction == EndpointToHostAccept,
		EndpointToHostReturn: s.EndpointToHostAction == EndpointToHostReturn,
		HostEndpoints:        HostEndpointConfig{FailsafeInbound: s.FailsafeInbound, FailsafeOutbound: s.FailsafeOutbound},
		FlowLogGroup:         flowLogGroup(cfg)}
}

// prepare feeds the snapshot's events to the model, renders when anything
// changed, and puts the model's endpoints and filter states into snap. It
// returns false while no full sync has arrived: nothing may be programmed.
// It returns the render's duration, zero if it did not render.
func (p *policyState) prepare(snap *snapshot) (bool, time.Duration) {
	for _, ev := range snap.events {
		p.calc.Apply(ev)
	}
	p.refreshHostAddrs(snap.full || snap.hostAddrsStale) // hostinputs.go
	p.calc.SetTunnelPeers(tunnelPeersOf(snap.remote))
	if !snap.since.IsZero() && p.pendingSince.IsZero() {
		p.pendingSince = snap.since
	}
	if !p.calc.Synced() {
		return false, 0
	}
	var took time.Duration
	if p.calc.Dirty() {
		start := time.Now()
		if p.render() {
			snap.endpointsDirty = true
		}
		took = time.Since(start)
	}
	snap.endpoints = mergeEndpoints(snap.endpoints, p.endpoints)
	for v, st := range p.filters {
		snap.filters[v] = st
	}
	return true, took
}

// render renders the model; it reports whether the endpoints changed.
// When nothing a render shows changed (remote endpoints outside every used
// IP set), the last filter states and endpoints stay, as the same
// pointers: the apply then programs nothing.
func (p *policyState) render() bool {
	results, changed := p.calc.RenderIfChanged()
	if !changed {
		return false
	}
	if p.enforce {
		prev := p.filters
		p.filters = make(map[int]*FilterState, len(results))
		p.ruleIDs = mergeRuleIDs(p.ruleIDs, results, len(prev) == len(results))
		for v, res := range results {
			p.serial++
			st := &FilterState{Chains: res.Chains, Inserts: res.Inserts, IPSets: res.IPSets, Raw: res.Raw, Mangle: res.Mangle,
				Delta: res.Delta, Serial: p.serial}
			if b := prev[v]; b != nil && res.Delta.Incremental {
				st.BaseSerial = b.Serial
			}
			p.filters[v] = st
		}
	}
	v := p.calc.LocalEndpointsVersion()
	if v == p.epVersion {
		return false // the same endpoints: no pass over all of them
	}
	p.epVersion = v
	local := p.calc.LocalEndpoints()
	old := p.endpoints
	p.endpoints = make([]Endpoint, 0, len(local))
	for _, ep := range local {
		if ep.IfaceName == "" {
			continue
		}
		e := Endpoint{ID: ep.Key, IfaceName: ep.IfaceName, MAC: slices.Clone(ep.MAC)}
		for _, a := range ep.Addrs {
			if a.Addr().Is4() {
				e.IPv4Nets = append(e.IPv4Nets, a)
			} else {
				e.IPv6Nets = append(e.IPv6Nets, a)
			}
		}
		p.endpoints = append(p.endpoints, e)
	}
	return !slices.EqualFunc(old, p.endpoints, sameEndpoint)
}

// mergeRuleIDs returns the NFLOG prefixes of every family's render: last
// (the previous merge, of the same families when same) when no render's
// changed, one family's own map when it is the only one, else a merge.
// Maps once returned are not modified (the flow-log reader keeps them).
func mergeRuleIDs(last map[string]rules.RuleID, results map[int]rules.Result, same bool) map[string]rules.RuleID {
	changed := !same || last == nil
	for _, res := range results {
		changed = changed || !res.Delta.Incremental || res.Delta.RuleIDsChanged
	}
	if !changed {
		return last
	}
	if len(results) == 1 {
		for _, res := range results {
			return res.RuleIDs
		}
	}
	out := map[string]rules.RuleID{}
	for _, res := range results {
		maps.Copy(out, res.RuleIDs)
	}
	return out
}

func sameEndpoint(a, b Endpoint) bool {
	return a.ID == b.ID && a.IfaceName == b.IfaceName && slices.Equal(a.MAC, b.MAC) &&
		slices.Equal(a.IPv4Nets, b.IPv4Nets) && slices.Equal(a.IPv6Nets, b.IPv6Nets)
}

// mergeEndpoints returns a ∪ b by ID (b wins), sorted by ID.
func mergeEndpoints(a, b []Endpoint) []Endpoint {
	if len(a) == 0 {
		return b
	}
	byID := make(map[string]Endpoint, len(a)+len(b))
	for _, ep := range a {
		byID[ep.ID] = ep
	}
	for _, ep := range b {
		byID[ep.ID] = ep
	}
	out := make([]Endpoint, 0, len(byID))
	for _, ep := range byID {
		out = append(out, ep)
	}
	slices.SortFunc(out, func(x, y Endpoint) int { return strings.Compare(x.ID, y.ID) })
	return out
}
