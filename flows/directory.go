package flows

import (
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix/flowlogs"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Kinds is what a Directory subscribes to in the cache: the policy
// model's kinds with staged policies and network sets (calc.ExplainKinds).
var Kinds = calc.ExplainKinds

// Directory answers "which endpoint has this address" and "what would
// staged policies do with this packet" from its own policy model, fed by
// a cache subscription (OnSyncEvent): never by asking the datastore.
// Safe for concurrent use.
type Directory struct {
	mu          sync.RWMutex
	model       *calc.Model
	networks    map[netip.Addr]string // address -> Docker network ID of its endpoint
	netSets     map[string]netSet     // "kind/namespace/name" -> (Global)NetworkSet
	networkName func(id string) string
	// synced: a Full event was applied; metrics: the counters to prune
	// (series.go).
	synced  bool
	metrics *Metrics
}

// netSet is a GlobalNetworkSet or NetworkSet, to name outside addresses.
type netSet struct {
	name, namespace string
	nets            []netip.Prefix
	labels          map[string]string
}

// NewDirectory returns an empty Directory; networkName (may be nil) turns
// a WorkloadEndpoint's network ID into the name users know.
func NewDirectory(networkName func(id string) string) *Directory {
	if networkName == nil {
		networkName = func(id string) string { return id }
	}
	return &Directory{model: calc.NewModel(), networks: map[netip.Addr]string{}, netSets: map[string]netSet{}, networkName: networkName}
}

// OnSyncEvent applies one cache event (kinds Kinds); the counters of
// policies it deleted or shrank go (series.go).
func (d *Directory) OnSyncEvent(ev model.SyncEvent) {
	gone := d.apply(ev)
	d.mu.RLock()
	m := d.metrics
	d.mu.RUnlock()
	if m != nil && touchesPolicies(ev) {
		m.prune(d)
	}
	if m != nil && (ev.Full || len(gone) > 0) {
		m.forgetEndpoints(gone, d)
	}
}

// apply applies ev; it returns the names of the workload endpoints it
// deleted (nil for a Full event).
func (d *Directory) apply(ev model.SyncEvent) (gone []endpointName) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ev.Full {
		d.networks = map[netip.Addr]string{}
		d.netSets = map[string]netSet{}
	}
	for _, u := range ev.Updates {
		if u.Kind == resources.KindGlobalNetworkSet || u.Kind == resources.KindNetworkSet {
			d.updateNetSet(u)
		}
		if u.Kind != resources.KindWorkloadEndpoint {
			continue
		}
		if old := d.model.Endpoint(u.Namespace + "/" + u.Name); old != nil {
			for _, a := range old.Addrs {
				delete(d.networks, a.Addr())
			}
			if u.Deleted() && !ev.Full {
				gone = append(gone, nameOf(old))
			}
		}
		if w, ok := u.Object.(*resources.WorkloadEndpoint); ok && !u.Deleted() {
			for _, a := range w.Addrs() {
				d.networks[a.Addr()] = w.Spec.Network
			}
		}
	}
	d.model.Apply(ev)
	d.synced = d.synced || ev.Full
	return gone
}

func (d *Directory) updateNetSet(u model.Update) {
	key := u.Kind + "/" + u.Namespace + "/" + u.Name
	if u.Deleted() {
		delete(d.netSets, key)
		return
	}
	var spec resources.NetworkSetSpec
	switch o := u.Object.(type) {
	case *resources.GlobalNetworkSet:
		spec = o.Spec
	case *resources.NetworkSet:
		spec = o.Spec
	default:
		return
	}
	ns := netSet{name: u.Name, namespace: u.Namespace, labels: u.Object.Meta().Labels}
	for _, n := range spec.Nets {
		if p, err := resources.ParseNet(n); err == nil {
			ns.nets = append(ns.nets, p)
		}
	}
	d.netSets[key] = ns
}

// Endpoint describes the owner of addr, as Calico's flow logs do: a
// workload endpoint ("wep"), a host endpoint by its expected IPs ("hep"),
// the network set with the most specific net holding it ("netset"), or
// else an outside address ("net", named pvt or pub).
func (d *Directory) Endpoint(addr netip.Addr) Endpoint {
	d.mu.RLock()
	ep := d.model.EndpointByIP(addr)
	netID := d.networks[addr]
	var named *Endpoint
	if ep == nil {
		named = d.namedLocked(addr)
	}
	d.mu.RUnlock()
	if named != nil {
		return *named
	}
	if ep == nil {
		name := "pub"
		if addr.IsPrivate() || addr.IsLoopback() || addr.IsLinkLocalUnicast() {
			name = "pvt"
		}
		return Endpoint{Kind: "net", Name: name, IP: addr.String()}
	}
	name := nameOf(ep).name
	network := ""
	if netID != "" {
		network = d.networkName(netID)
	}
	return Endpoint{Kind: "wep", Name: name, Namespace: ep.Namespace, Network: network, Node: ep.Node,
		IP: addr.String(), Labels: ep.Labels}
}

// namedLocked finds the host endpoint or network set of addr (nil: none).
func (d *Directory) namedLocked(addr netip.Addr) *Endpoint {
	for _, h := range d.model.HostEndpoints() {
		for _, p := range h.ExpectedIPs {
			if p.Addr() == addr {
				return &Endpoint{Kind: "hep", Name: h.Name, Node: h.Node, IP: addr.String(), Labels: h.Labels}
			}
		}
	}
	var best *netSet
	bits := -1
	for key := range d.netSets {
		ns := d.netSets[key]
		for _, p := range ns.nets {
			better := p.Bits() > bits || p.Bits() == bits && ns.namespace+"/"+ns.name < best.namespace+"/"+best.name
			if p.Contains(addr) && better {
				best, bits = &ns, p.Bits()
			}
		}
	}
	if best == nil {
		return nil
	}
	return &Endpoint{Kind: "netset", Name: best.name, Namespace: best.namespace, IP: addr.String(), Labels: best.labels}
}

// Endpoints lists every workload endpoint known, sorted by namespace and
// name.
func (d *Directory) Endpoints() []Endpoint {
	d.mu.RLock()
	eps := d.model.Endpoints()
	d.mu.RUnlock()
	out := make([]Endpoint, 0, len(eps))
	for _, ep := range eps {
		if len(ep.Addrs) == 0 {
			continue
		}
		out = append(out, d.Endpoint(ep.Addrs[0].Addr()))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out
}

// Staged returns what staged policies would decide for t's first packet
// in direction dir (ingress or egress): each staged policy whose rule
// matched on the would-be path. Empty when there is no staged policy.
func (d *Directory) Staged(t flowlogs.Tuple, dir string) []Staged {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if !d.model.HasStaged() {
		return nil
	}
	res := d.model.StagedVerdict(calc.Packet{Src: t.Src, Dst: t.Dst, Protocol: t.Proto, SrcPort: t.SrcPort,
		DstPort: t.DstPort, ICMPType: -1})
	var out []Staged
	for _, s := range res.Steps {
		kind, ns, name, ok := stagedKey(s.Name)
		if !ok || s.Direction.String() != dir || s.Rule < 0 {
			continue
		}
		tier := resources.DefaultTierName
		if i := strings.Index(name, "."); i > 0 {
			tier = name[:i]
		}
		out = append(out, Staged{Tier: tier, Kind: kind, Namespace: ns, Name: name, Rule: s.Rule,
			Direction: dir, Action: strings.ToLower(s.Action)})
	}
	return out
}

// stagedKey splits a calc.PolicyKey of a staged kind.
func stagedKey(key string) (kind, ns, name string, ok bool) {
	parts := strings.Split(key, "/")
	switch {
	case parts[0] == resources.KindStagedGlobalNetworkPolicy && len(parts) == 2:
		return parts[0], "", parts[1], true
	case parts[0] == resources.KindStagedNetworkPolicy && len(parts) == 3:
		return parts[0], parts[1], parts[2], true
	}
	return "", "", "", false
}
