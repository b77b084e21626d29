package policy

import (
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// Index is a calc.Model with incremental caches of the two questions
// rendering asks most: which policies select a local endpoint
// (PoliciesFor) and which addresses a selector stands for (Members).
// Answering them from scratch costs endpoints × policies selector
// evaluations per render; the Index re-evaluates only what a change can
// affect: a changed policy against every local endpoint, a changed
// endpoint against every policy and every cached selector.
//
// Its answers are always those of the underlying model (the tests check
// this against calc.Model after random changes). Not safe for concurrent
// use.
type Index struct {
	node  string
	model *calc.Model

	dirtyEndpoints map[string]bool // endpoint keys changed since the last settle
	dirtyPolicies  map[string]bool // policy keys changed since the last settle
	dirtyNetSets   map[string]bool // network set keys changed since the last settle
	allDirty       bool            // a full resync: rebuild every cache

	local    []*calc.Endpoint        // node's endpoints, sorted by key
	localGen uint64                  // counts the changes of local
	policies map[string]*calc.Policy // every policy by key
	ordered  []*calc.Policy          // every policy in evaluation order (calc.Model.ComparePolicies)
	polFor   map[string]*[2][]*calc.Policy
	holders  map[string]map[string]int // policy key -> local endpoint keys whose lists hold it
	members  map[string]*memberSet     // by selector UniqueID
	gen      uint64                    // render generation, for member-set GC
	// changed: the member sets changed since the last BeginRender (by
	// selector UniqueID; changedAll: all may have); lastChanged and
	// lastAll those of the epoch being rendered (rules.Tracker).
	changed     map[string]bool
	changedAll  bool
	lastChanged []string
	lastAll     bool
	// the same for local endpoints whose object or policy lists changed.
	epChanged     map[string]bool
	lastEPChanged []string
	unheld        map[string]bool // member sets no Renderer holds: GC candidates
	// visible: since the last render, something changed that a render
	// could show (see Changed); remote endpoints that no cached selector
	// matches before or after their change leave it false.
	visible bool
	// every is every endpoint of the model (sorted), kept until an
	// endpoint changes: filling many new member sets at once (start of
	// day) lists and sorts them once, not once per set.
	every []*calc.Endpoint
	// polIdx and epIdx index ordered and every by label (index_labels.go);
	// nil: build when next needed.
	polIdx *policyIndex
	epIdx  endpointIndex
	// setIdx indexes members by label (nil: build when next needed);
	// seen is each endpoint's labels when the member sets last evaluated
	// it (index_labels.go).
	setIdx *hintIndex[*memberSet]
	seen   map[string]map[string]string
}

// memberSet caches the addresses one selector matches, by endpoint key,
// and the CIDRs of the network sets it matches, by network set key.
// While sorted is valid, changes are queued as adds and dels and merged
// into a new sorted slice when asked (O(set + change), not a re-sort).
type memberSet struct {
	sel        selector.Selector
	byEP       map[string][]netip.Prefix
	byNet      map[string][]netip.Prefix
	sorted     []netip.Prefix // nil when it must be rebuilt
	adds, dels []netip.Prefix // pending changes of sorted
	usedGen    uint64
	id         string // sel.UniqueID()
	holds      int    // Renderers keeping it (rules.Tracker)
}

var _ rules.Source = (*Index)(nil)

// NewIndex returns an empty index for node's endpoints.
func NewIndex(node string) *Index {
	return &Index{node: node, model: calc.NewModel(), allDirty: true,
		dirtyEndpoints: map[string]bool{}, dirtyPolicies: map[string]bool{}, dirtyNetSets: map[string]bool{},
		polFor: map[string]*[2][]*calc.Policy{}, holders: map[string]map[string]int{}, members: map[string]*memberSet{},
		changed: map[string]bool{}, epChanged: map[string]bool{}, unheld: map[string]bool{}, seen: map[string]map[string]string{}}
}

// Model returns the underlying model (for Verdict and explain). Callers
// must not change it except through Apply.
func (x *Index) Model() *calc.Model { return x.model }

// Apply feeds one sync event into the model and marks what it touches.
func (x *Index) Apply(ev model.SyncEvent) {
	x.model.Apply(ev)
	x.every, x.epIdx = nil, nil
	if ev.Full {
		x.allDirty, x.visible = true, true
		return
	}
	for _, u := range ev.Updates {
		if u.Kind != resources.KindWorkloadEndpoint {
			x.visible = true // only endpoint changes are tracked finer
		}
		switch u.Kind {
		case resources.KindWorkloadEndpoint:
			x.dirtyEndpoints[u.Namespace+"/"+u.Name] = true
		case resources.KindNetworkPolicy, resources.KindGlobalNetworkPolicy:
			x.dirtyPolicies[calc.PolicyKey(u.Kind, u.Namespace, u.Name)] = true
		case resources.KindGlobalNetworkSet, resources.KindNetworkSet:
			x.dirtyNetSets[calc.NetSetKey(u.Kind, u.Namespace, u.Name)] = true
		case resources.KindProfile:
			x.profileChanged(u.Name)
		case resources.KindTier, resources.KindHostEndpoint:
			// A tier's order reorders every list that holds one of its
			// policies; host endpoints' expected IPs are in selectors' sets.
			// Both change rarely, so rebuild.
			x.allDirty = true
		}
	}
}

// Changed reports whether a render now could differ from the last one:
// false when the only changes since are of remote endpoints that no
// cached selector matched before or after them (most of a large fleet's
// churn). It settles the caches.
func (x *Index) Changed() bool {
	x.settle()
	return x.visible
}

// profileChanged marks the endpoints whose effective labels a profile's
// labelsToApply may have changed.
func (x *Index) profileChanged(name string) {
	for _, h := range x.model.HostEndpoints() {
		if slices.Contains(h.Profiles, name) {
			x.allDirty = true // its labels, so the sets holding its expected IPs
		}
	}
	for _, ep := range x.model.Endpoints() {
		if slices.Contains(ep.Profiles, name) {
			x.dirtyEndpoints[ep.Key] = true
		}
	}
}

// settle brings every cache up to date with the model. Rendering calls it
// (through BeginRender) before asking anything.
func (x *Index) settle() {
	switch {
	case x.allDirty:
		x.rebuild()
	case len(x.dirtyEndpoints) > 0 || len(x.dirtyPolicies) > 0 || len(x.dirtyNetSets) > 0:
		x.update()
	default:
		return
	}
	x.allDirty = false
	clear(x.dirtyEndpoints)
	clear(x.dirtyPolicies)
	clear(x.dirtyNetSets)
}

func (x *Index) rebuild() {
	x.refreshPolicies()
	x.refreshEndpoints()
	clear(x.polFor)
	clear(x.holders)
	for _, ep := range x.local {
		x.setLists(ep.Key, x.computePolicies(ep))
	}
	for _, ms := range x.members {
		ms.byEP, ms.byNet, ms.sorted = nil, nil, nil // recomputed on demand
	}
	if x.every == nil {
		x.every = x.model.Endpoints() // kept for the member sets' fills
	}
	x.seen = make(map[string]map[string]string, len(x.every))
	for _, ep := range x.every {
		x.seen[ep.Key] = ep.Labels
	}
	x.changedAll = true
}

func (x *Index) update() {
	changes := x.patchOrdered()
	for key := range x.dirtyEndpoints {
		if x.refreshLocal(key) {
			x.visible, x.epChanged[key] = true, true
		}
		var lists *[2][]*calc.Policy
		if ep := x.localEndpoint(key); ep != nil {
			lists = x.computePolicies(ep)
		}
		x.setLists(key, lists) // index_policies.go
	}
	if len(changes) > 0 {
		x.patchLists(changes)
	}
	for key := range x.dirtyEndpoints {
		ep := x.model.Endpoint(key) // nil when deleted
		var labels map[string]string
		if ep != nil {
			labels = ep.Labels
		}
		for _, ms := range x.setCandidates(x.seen[key], labels) { // index_labels.go
			if ms.updateEndpoint(key, ep) {
				x.visible, x.changed[ms.id] = true, true
			}
		}
		if ep != nil {
			x.seen[key] = labels
		} else {
			delete(x.seen, key)
		}
	}
	x.updateNetSets() // index_netsets.go
}

// refreshEndpoints re-reads the local endpoint list.
func (x *Index) refreshEndpoints() {
	x.local = x.model.LocalEndpoints(x.node)
	x.localGen++
}

// refreshLocal brings one endpoint's entry in the local list up to date:
// a remote endpoint's change costs a binary search, not a walk and sort of
// every endpoint of the cluster. It reports whether the endpoint is or
// was local.
func (x *Index) refreshLocal(key string) bool {
	i, found := slices.BinarySearchFunc(x.local, key, func(ep *calc.Endpoint, k string) int {
		return strings.Compare(ep.Key, k)
	})
	ep := x.model.Endpoint(key)
	local := ep != nil && ep.Node == x.node
	switch {
	case local && found:
		x.local[i] = ep
	case local:
		x.local = slices.Insert(x.local, i, ep)
	case found:
		x.local = slices.Delete(x.local, i, i+1)
	}
	if local || found {
		x.localGen++
	}
	return local || found
}

// BeginRender settles the caches and starts a new epoch; call it before a
// render.
func (x *Index) BeginRender() {
	x.settle()
	x.gen++
	x.visible = false
	x.lastChanged, x.lastAll = slices.Collect(maps.Keys(x.changed)), x.changedAll
	x.lastEPChanged = slices.Collect(maps.Keys(x.epChanged))
	clear(x.changed)
	clear(x.epChanged)
	x.changedAll = false
}

// EndRender forgets the member sets no Renderer holds that the last
// render did not use.
func (x *Index) EndRender() {
	for id := range x.unheld {
		ms := x.members[id]
		switch {
		case ms == nil || ms.holds > 0:
			delete(x.unheld, id)
		case ms.usedGen != x.gen:
			delete(x.members, id)
			delete(x.unheld, id)
			x.setIdx = nil
		}
	}
}

// Epoch implements rules.Tracker: renders are epochs.
func (x *Index) Epoch() uint64 { return x.gen }

// ChangedMembers implements rules.Tracker.
func (x *Index) ChangedMembers() ([]string, bool) { return x.lastChanged, x.lastAll }

// ChangedEndpoints implements rules.Tracker (a rebuild changes all).
func (x *Index) ChangedEndpoints() ([]string, bool) { return x.lastEPChanged, x.lastAll }

// HoldMembers implements rules.Tracker.
func (x *Index) HoldMembers(sel selector.Selector) {
	x.memberSet(sel).holds++
}

// ReleaseMembers implements rules.Tracker.
func (x *Index) ReleaseMembers(sel selector.Selector) {
	id := sel.UniqueID()
	if ms := x.members[id]; ms != nil {
		ms.holds--
		if ms.holds <= 0 {
			x.unheld[id] = true
		}
	}
}

// memberSet returns sel's member set, registering a new one (not filled).
func (x *Index) memberSet(sel selector.Selector) *memberSet {
	id := sel.UniqueID()
	ms := x.members[id]
	if ms == nil {
		ms = &memberSet{sel: sel, id: id, usedGen: x.gen}
		x.members[id] = ms
		x.setIdx = nil
		x.unheld[id] = true
	}
	return ms
}

// LocalEndpoints implements rules.Source.
func (x *Index) LocalEndpoints(node string) []*calc.Endpoint {
	x.settle()
	if node != x.node {
		return x.model.LocalEndpoints(node)
	}
	return x.local
}

// LocalVersion returns a number that changes whenever the local endpoint
// list (or one of its endpoints) does.
func (x *Index) LocalVersion() uint64 {
	x.settle()
	return x.localGen
}

// PoliciesFor implements rules.Source.
func (x *Index) PoliciesFor(ep *calc.Endpoint, dir calc.Direction) []*calc.Policy {
	x.settle()
	if lists := x.polFor[ep.Key]; lists != nil && x.model.Endpoint(ep.Key) == ep {
		return lists[dir]
	}
	return x.model.PoliciesFor(ep, dir)
}

// Profile implements rules.Source.
func (x *Index) Profile(name string) *calc.Profile { return x.model.Profile(name) }

// Tier implements rules.Source.
func (x *Index) Tier(name string) *resources.Tier { return x.model.Tier(name) }

// Members implements rules.Source.
func (x *Index) Members(sel selector.Selector) []netip.Prefix {
	x.settle()
	ms := x.memberSet(sel)
	ms.usedGen = x.gen
	if ms.byEP == nil {
		ms.byEP = map[string][]netip.Prefix{}
		for _, ep := range x.memberCandidates(sel) { // index_labels.go
			ms.updateEndpoint(ep.Key, ep)
		}
		x.fillNetSets(ms)
		ms.addHostEndpoints(x.model) // hostendpoints.go
	}
	switch {
	case ms.sorted == nil:
		ms.sorted = make([]netip.Prefix, 0, len(ms.byEP)+len(ms.byNet))
		for _, addrs := range ms.byEP {
			ms.sorted = append(ms.sorted, addrs...)
		}
		for _, nets := range ms.byNet {
			ms.sorted = append(ms.sorted, nets...)
		}
		slices.SortFunc(ms.sorted, compareMember)
	case len(ms.adds) > 0 || len(ms.dels) > 0:
		ms.sorted = mergeMembers(ms.sorted, ms.adds, ms.dels)
	}
	ms.adds, ms.dels = nil, nil
	return ms.sorted
}

// updateEndpoint re-evaluates one endpoint (nil: deleted) for the set and
// reports whether its members changed.
func (ms *memberSet) updateEndpoint(key string, ep *calc.Endpoint) bool {
	if ms.byEP == nil {
		return false // not computed yet
	}
	in := ep != nil && ms.sel.Evaluate(ep.Labels)
	var addrs []netip.Prefix
	if in {
		addrs = ep.Addrs
	}
	return ms.set(ms.byEP, key, addrs, in)
}

// set records val under key of m (in) or removes key (!in), queueing the
// change of the sorted list; it reports whether the members changed.
func (ms *memberSet) set(m map[string][]netip.Prefix, key string, val []netip.Prefix, in bool) bool {
	old, had := m[key]
	switch {
	case !in && had:
		delete(m, key)
		ms.change(nil, old)
		return true
	case in && (!had || !slices.Equal(old, val)):
		m[key] = val
		ms.change(val, old)
		return true
	}
	return false
}

// change queues adds and dels for the sorted list; once the queue would
// cost more than a rebuild, it drops the list instead.
func (ms *memberSet) change(adds, dels []netip.Prefix) {
	if ms.sorted == nil {
		return
	}
	ms.adds, ms.dels = append(ms.adds, adds...), append(ms.dels, dels...)
	if len(ms.adds)+len(ms.dels) > len(ms.sorted)/4+16 {
		ms.sorted, ms.adds, ms.dels = nil, nil, nil
	}
}

// compareMember orders members by address, then prefix length.
func compareMember(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// mergeMembers returns a new sorted list: sorted with one occurrence of
// each of dels removed and adds inserted (a multiset: two endpoints may
// briefly share an address). sorted is left as it was.
func mergeMembers(sorted, adds, dels []netip.Prefix) []netip.Prefix {
	slices.SortFunc(adds, compareMember)
	slices.SortFunc(dels, compareMember)
	out := make([]netip.Prefix, 0, len(sorted)+len(adds)-min(len(dels), len(sorted)))
	i, j := 0, 0 // next of sorted, of adds
	for _, d := range dels {
		for i < len(sorted) && compareMember(sorted[i], d) < 0 {
			out, j = mergeUpTo(out, adds, j, sorted[i])
			out = append(out, sorted[i])
			i++
		}
		if i < len(sorted) && sorted[i] == d {
			i++ // drop one occurrence
		}
	}
	for ; i < len(sorted); i++ {
		out, j = mergeUpTo(out, adds, j, sorted[i])
		out = append(out, sorted[i])
	}
	return append(out, adds[j:]...)
}

// mergeUpTo appends adds[j:] that sort before p; it returns the new j.
func mergeUpTo(out, adds []netip.Prefix, j int, p netip.Prefix) ([]netip.Prefix, int) {
	for j < len(adds) && compareMember(adds[j], p) < 0 {
		out = append(out, adds[j])
		j++
	}
	return out, j
}
