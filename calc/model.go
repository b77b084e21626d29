package calc

import (
	"cmp"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// Endpoint is one workload endpoint as the calculation sees it.
type Endpoint struct {
	Key       string // namespace/name of the WorkloadEndpoint
	Name      string
	Namespace string
	Node      string
	Workload  string
	IfaceName string
	MAC       net.HardwareAddr
	Addrs     []netip.Prefix
	Profiles  []string
	Labels    map[string]string // effective labels
	// Pending is true until the endpoint's labels are known; the
	// dataplane drops its traffic meanwhile (fail closed).
	Pending bool
	own     map[string]string // labels on the WorkloadEndpoint itself
	// labelsKey names Labels in the model's labelSets.
	labelsKey string
}

// Model holds everything policy depends on.
type Model struct {
	endpoints map[string]*Endpoint
	profiles  map[string]*Profile
	policies  map[string]*Policy
	byIP      map[netip.Addr]*Endpoint
	tiers     map[string]*resources.Tier // by name; "default" is implied
	staged    map[string]*stagedPolicy   // by the key of the policy it stages
	netSets   map[string]*NetSet         // by kind/namespace/name
	labelSets labelSets                  // endpoints' effective labels, shared
	// hostEndpoints by name (hostendpoints.go).
	hostEndpoints map[string]*HostEndpoint
	// defaultTier stands for the default tier until one is stored;
	// unstoredTier for a tier a policy names that is not stored.
	defaultTier, unstoredTier *resources.Tier
}

// NewModel returns an empty model.
func NewModel() *Model {
	return &Model{endpoints: map[string]*Endpoint{}, profiles: map[string]*Profile{}, policies: map[string]*Policy{},
		byIP: map[netip.Addr]*Endpoint{}, tiers: map[string]*resources.Tier{}, staged: map[string]*stagedPolicy{}, netSets: map[string]*NetSet{},
		labelSets: labelSets{}, hostEndpoints: map[string]*HostEndpoint{},
		defaultTier: resources.NewDefaultTier(), unstoredTier: &resources.Tier{Spec: resources.TierSpec{DefaultAction: resources.TierActionDeny}}}
}

// Kinds lists the resource kinds the dataplane's model consumes (for a
// cache subscription); tiers give policies their evaluation order and
// each tier's end its defaultAction; network sets add their CIDRs to the
// selectors (IP sets) that match them.
var Kinds = []string{resources.KindWorkloadEndpoint, resources.KindProfile, resources.KindNetworkPolicy, resources.KindGlobalNetworkPolicy,
	resources.KindTier, resources.KindHostEndpoint, resources.KindGlobalNetworkSet, resources.KindNetworkSet}

// ExplainKinds are Kinds plus what only the reference verdict reads:
// staged policies (evaluated, never enforced).
var ExplainKinds = append(slices.Clone(Kinds), resources.KindStagedNetworkPolicy, resources.KindStagedGlobalNetworkPolicy)

// Apply feeds one sync event into the model.
func (m *Model) Apply(ev model.SyncEvent) {
	if ev.Full {
		*m = *NewModel()
	}
	for _, u := range ev.Updates {
		m.Update(u)
	}
}

// Update applies one change.
func (m *Model) Update(u model.Update) {
	switch u.Kind {
	case resources.KindWorkloadEndpoint:
		key := u.Namespace + "/" + u.Name
		if u.Deleted() {
			m.removeEndpoint(key)
			return
		}
		m.SetEndpoint(u.Object.(*resources.WorkloadEndpoint))
	case resources.KindProfile:
		if u.Deleted() {
			delete(m.profiles, u.Name)
		} else {
			m.profiles[u.Name] = compileProfile(u.Object.(*resources.Profile))
		}
		m.relabelAll()
	case resources.KindNetworkPolicy, resources.KindGlobalNetworkPolicy:
		key := PolicyKey(u.Kind, u.Namespace, u.Name)
		if u.Deleted() {
			delete(m.policies, key)
			return
		}
		if p, err := compilePolicy(u.Object); err == nil {
			m.policies[key] = p
		}
	case resources.KindTier:
		if u.Deleted() {
			delete(m.tiers, u.Name)
		} else {
			m.tiers[u.Name] = u.Object.(*resources.Tier)
		}
	case resources.KindStagedNetworkPolicy, resources.KindStagedGlobalNetworkPolicy:
		m.updateStaged(u)
	case resources.KindGlobalNetworkSet, resources.KindNetworkSet:
		m.updateNetSet(u)
	case resources.KindHostEndpoint:
		m.updateHostEndpoint(u)
	}
}

// SetEndpoint adds or replaces an endpoint. The model keeps w's labels
// map (the cache's objects are shared and never mutated: one copy per
// endpoint fewer); w must not be modified afterwards.
func (m *Model) SetEndpoint(w *resources.WorkloadEndpoint) {
	key := w.Namespace + "/" + w.Name
	m.removeEndpoint(key)
	ep := &Endpoint{
		Key: key, Name: w.Name, Namespace: cmp.Or(w.Namespace, resources.DefaultNamespace), Node: w.Spec.Node, Workload: w.Spec.Workload, IfaceName: w.Spec.InterfaceName,
		Addrs: w.Addrs(), Profiles: slices.Clone(w.Spec.Profiles), own: w.Labels,
		Pending: w.Annotations[resources.AnnotationLabelsPending] == "true",
	}
	if mac, err := net.ParseMAC(w.Spec.MAC); err == nil {
		ep.MAC = mac
	}
	m.relabel(ep)
	m.endpoints[key] = ep
	for _, a := range ep.Addrs {
		m.byIP[a.Addr()] = ep
	}
}

func (m *Model) removeEndpoint(key string) {
	ep, ok := m.endpoints[key]
	if !ok {
		return
	}
	for _, a := range ep.Addrs {
		if m.byIP[a.Addr()] == ep {
			delete(m.byIP, a.Addr())
		}
	}
	delete(m.endpoints, key)
	m.labelSets.release(ep.labelsKey)
}

// relabel computes effective labels: profile labelsToApply (in profile
// order, later profiles win), then the endpoint's own labels on top, then
// its namespace (projectcalico.org/namespace), which nothing overrides.
// Endpoints with equal labels share one map.
func (m *Model) relabel(ep *Endpoint) {
	labels := m.profileLabels(ep.Profiles, ep.own)
	labels[LabelNamespace] = ep.Namespace
	m.labelSets.release(ep.labelsKey)
	ep.Labels, ep.labelsKey = m.labelSets.share(labels)
}

func (m *Model) relabelAll() {
	for _, ep := range m.endpoints {
		m.relabel(ep)
	}
	for _, h := range m.hostEndpoints {
		m.relabelHost(h)
	}
}

// Endpoint returns an endpoint by key (namespace/name).
func (m *Model) Endpoint(key string) *Endpoint { return m.endpoints[key] }

// EndpointByIP returns the endpoint owning addr, or nil.
func (m *Model) EndpointByIP(addr netip.Addr) *Endpoint { return m.byIP[addr] }

// Endpoints returns every endpoint, sorted by key.
func (m *Model) Endpoints() []*Endpoint { return byKey(m.endpoints) }

// LocalEndpoints returns the endpoints on node, sorted by key.
func (m *Model) LocalEndpoints(node string) []*Endpoint {
	return onNode(m.Endpoints(), node, func(ep *Endpoint) string { return ep.Node })
}

// profileLabels are the labels profiles apply (their labelsToApply in
// profile order, later profiles win) with own on top: a fresh map.
func (m *Model) profileLabels(profiles []string, own map[string]string) map[string]string {
	labels := map[string]string{}
	for _, name := range profiles {
		if p := m.profiles[name]; p != nil {
			maps.Copy(labels, p.LabelsToApply)
		}
	}
	maps.Copy(labels, own)
	return labels
}

// byKey returns the values of an index in the order of their keys (a
// workload endpoint's Key, a host endpoint's Name).
func byKey[V any](index map[string]V) []V {
	out := make([]V, 0, len(index))
	for _, k := range slices.Sorted(maps.Keys(index)) {
		out = append(out, index[k])
	}
	return out
}

// onNode keeps, in order, the items of all that nodeOf places on node.
func onNode[V any](all []V, node string, nodeOf func(V) string) []V {
	var out []V
	for _, v := range all {
		if nodeOf(v) == node {
			out = append(out, v)
		}
	}
	return out
}

// Profile returns a compiled profile by name, or nil.
func (m *Model) Profile(name string) *Profile { return m.profiles[name] }

// Policy returns a compiled (Global)NetworkPolicy by kind, namespace and
// name, or nil.
func (m *Model) Policy(kind, namespace, name string) *Policy {
	return m.policies[PolicyKey(kind, namespace, name)]
}

// PolicyByKey returns a policy by its Key, or nil.
func (m *Model) PolicyByKey(key string) *Policy { return m.policies[key] }

// ComparePolicies orders two policies as evaluation does (Policies): by
// tier, then within the tier by order, name and key. A total order for the
// current tiers.
func (m *Model) ComparePolicies(a, b *Policy) int { return m.compareTiered(a, b) }

// Policies returns every policy in evaluation order: by tier, then within
// the tier by order.
func (m *Model) Policies() []*Policy {
	out := slices.Collect(maps.Values(m.policies))
	slices.SortFunc(out, m.compareTiered)
	return out
}

// PoliciesFor returns, in evaluation order, the policies that select ep
// for the direction.
func (m *Model) PoliciesFor(ep *Endpoint, dir Direction) []*Policy {
	return m.policiesFrom(m.policies, ep, dir)
}

func (m *Model) policiesFrom(policies map[string]*Policy, ep *Endpoint, dir Direction) []*Policy {
	var out []*Policy
	for _, p := range policies {
		if p.AppliesTo(dir) && p.Selector.Evaluate(ep.Labels) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, m.compareTiered)
	return out
}

// Members returns what sel stands for in the dataplane, sorted
// (ComparePrefixes): the addresses of every workload endpoint it matches,
// the expectedIPs of every host endpoint it matches and the CIDRs of every
// network set it matches. For workload and network set addresses, a
// packet's address is in one of them exactly when Verdict's selector
// match holds for it (Verdict does not trace host endpoints).
func (m *Model) Members(sel selector.Selector) []netip.Prefix {
	var out []netip.Prefix
	for _, ep := range m.endpoints {
		if sel.Evaluate(ep.Labels) {
			out = append(out, ep.Addrs...)
		}
	}
	for _, ns := range m.netSets {
		if ns.Matches(sel) {
			out = append(out, ns.Nets...)
		}
	}
	out = append(out, m.hostMembers(sel)...)
	slices.SortFunc(out, ComparePrefixes)
	return out
}

// SelectorsInUse returns every rule selector of every policy and profile,
// keyed by UniqueID, so one IP set serves each distinct selector.
func (m *Model) SelectorsInUse() map[string]selector.Selector {
	out := map[string]selector.Selector{}
	add := func(rules []Rule) {
		for _, r := range rules {
			for _, s := range []selector.Selector{r.Src.Selector, r.Src.NotSelector, r.Dst.Selector, r.Dst.NotSelector} {
				if s != nil {
					out[s.UniqueID()] = s
				}
			}
		}
	}
	for _, p := range m.policies {
		add(p.Ingress)
		add(p.Egress)
	}
	for _, p := range m.profiles {
		add(p.Ingress)
		add(p.Egress)
	}
	return out
}
