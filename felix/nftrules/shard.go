package nftrules

import (
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Why shards: the kernel validates a table's whole jump graph on every
// commit that adds a rule with a verdict or a set lookup (any policy
// rule), so one changed policy chain cost time in proportion to every
// rule of the table (~8 ms at 1,000 endpoints × 1,000 policies). The
// validation is per table, and chains cannot jump across tables; so the
// workload endpoints are spread over shard tables, each holding the
// endpoint chains of its endpoints with every chain and set they reach
// (a policy shared by endpoints of two shards is in both), behind base
// chains of its own. A change is validated only in the tables holding
// it. The main table keeps everything else and no longer dispatches to
// the workload chains: its dispatch maps hold each known interface with
// a return verdict, so unknown interfaces are still dropped there.
//
// The two directions are sharded apart: a from-workload shard holds its
// endpoints' cali-fw- chains (egress policy) behind a forward and an
// input base chain, a to-workload shard its endpoints' cali-tw- chains
// (ingress policy) behind a forward base chain. Every forwarded packet
// passes every shard's forward chain (32 at 10,000 endpoints when each
// shard held both directions cost a stream ~15 %: docs/nftables.md), so
// the from-workload side, which holds no ingress policy, is cut in fewer,
// larger shards (at most MaxFromShards).
//
// The verdict is the same as one table's: a packet is dropped as soon as
// any base chain drops it, and an accept only ends that base chain. A
// shard's base chains run just after the main table's filter chains
// (which, where they dispatched, now only check that the interface is
// known; host endpoints' forward policy still runs there first, and the
// policy mark bits it reads are not yet the workload policy's) and begin
// with the accepts and drops that precede the workload dispatch in
// cali-FORWARD and cali-INPUT (established traffic skips policy, as
// there); every shard's from-workload chains run before any shard's
// to-workload chain, so egress is decided before ingress, as in one
// table. One difference shows in flow logs only: traffic the main table
// drops outright (workload to host with the Drop endpoint-to-host
// action) is no longer first run through the workload's egress policy.
const (
	// EndpointsPerShard sizes the shards: there are enough of them for
	// this many endpoints each (a power of two, at most MaxShards). Every
	// shard adds base chains that each forwarded packet passes (four
	// shards instead of one cost a TCP stream ~10 % of its throughput on
	// the benchmark's machine), while the kernel finds a set by walking
	// its table's sets, so a start of day with fewer, larger tables is
	// slower (one table at 1,000 × 1,000: ~300 ms against ~240 ms).
	// Two shards at 1,000 endpoints meet both (docs/nftables.md, "Why
	// shards"); 16 at 10,000.
	EndpointsPerShard = 512
	MaxShards         = 16
	// FromShardFactor × EndpointsPerShard endpoints make a from-workload
	// shard, of which there are at most MaxFromShards: 1 up to 2,048
	// endpoints, 4 at 10,000. (Up to four forward base chains cost a
	// stream nothing measurable: docs/benchmarks.md, "the curve of a
	// forward base chain's cost".)
	FromShardFactor = 4
	MaxFromShards   = 4
	// ShardFromPriority and ShardToPriority are the shards' base chains'
	// priorities: just after the main table's filter chains
	// (FilterPriority), before iptables-nft's (0).
	ShardFromPriority = FilterPriority + 1
	ShardToPriority   = FilterPriority + 2

	shardPrefix = TableName + "-wl"
	// ReturnTarget in a dispatch map sends the lookup back to its chain.
	ReturnTarget = "RETURN"
)

// ShardName is the table name of shard i.
func ShardName(i int) string { return shardPrefix + strconv.Itoa(i) }

// IsShardName reports whether a table name is one of our shards'.
func IsShardName(name string) bool {
	rest, ok := strings.CutPrefix(name, shardPrefix)
	if !ok || rest == "" {
		return false
	}
	n, err := strconv.Atoi(rest)
	return err == nil && strconv.Itoa(n) == rest
}

// Part is one kernel table of a family's Table: the main table or a
// shard. The driver programs each; Dirty names what changed since it
// last did (nil: plan it whole).
type Part struct {
	Name   string
	Chains map[string][]ipt.Rule
	Hooks  []Hook
	Sets   map[string]Set
	Dirty  *Dirty
	kind   partKind
	index  int // in the layout's parts
}

type partKind int8

const (
	mainPart  partKind = iota
	fromShard          // from-workload: cali-fw- chains, forward and input
	toShard            // to-workload: cali-tw- chains, forward
)

// shardCounts are a layout's numbers of from- and to-workload shards.
type shardCounts struct{ from, to int }

// layout is the split of a Table into parts, kept up to date by the
// Table's changes (pending) when Parts is called.
type layout struct {
	k      shardCounts
	parts  []*Part // main first, then the shards
	refs   map[string]chainRefs
	holder map[string]map[*Part]bool // chain -> parts holding it
	sets   map[string]map[*Part]bool // set -> parts holding it
	hash   map[string]uint32         // interface -> its hash (memo)
	// split is each dispatch map as each part holds it (by part index):
	// computed whole when a map changed wholesale, else patched copy on
	// write for the interfaces that changed (the driver keeps the maps it
	// programmed to diff the next ones against).
	split map[string][]map[string]string
	// patched: while applyPending runs, the dispatch maps patchSplit
	// patched by part, their changed keys marked (markKeys).
	patched map[*Part]map[string]bool
}

type chainRefs struct{ chains, sets []string }

// Parts returns the kernel tables t is programmed as: the main table,
// then the shards (none without workload dispatch: policy off).
func (t *Table) Parts() []*Part {
	if k := t.shardCounts(); t.layout == nil || t.layout.k != k {
		t.relayout(k)
	} else if t.pending != nil {
		t.applyPending()
	}
	t.pending, t.dispatchDirty, t.dispatchAll = nil, nil, nil
	return t.layout.parts
}

// relayout splits t into the main table and k's shards from scratch:
// the from-workload shards are named first (calico-wl0 …), then the
// to-workload ones.
func (t *Table) relayout(k shardCounts) {
	l := &layout{k: k, refs: map[string]chainRefs{}, holder: map[string]map[*Part]bool{},
		sets: map[string]map[*Part]bool{}, hash: map[string]uint32{}, split: map[string][]map[string]string{}}
	t.layout = l
	l.parts = append(l.parts, &Part{Name: TableName})
	for i := range k.from + k.to {
		kind := fromShard
		if i >= k.from {
			kind = toShard
		}
		l.parts = append(l.parts, &Part{Name: ShardName(i), kind: kind, index: len(l.parts)})
	}
	for _, p := range l.parts {
		t.fill(p)
	}
}

// shardCounts is how many shards of each direction t's endpoints call
// for (none without workload dispatch: policy off).
func (t *Table) shardCounts() shardCounts {
	if _, ok := t.Sets[rules.ChainFromDispatch]; !ok {
		return shardCounts{}
	}
	n := max(len(t.Sets[rules.ChainFromDispatch].VMap), len(t.Sets[rules.ChainToDispatch].VMap))
	size := t.ShardSize
	if size <= 0 {
		size = EndpointsPerShard
	}
	var running shardCounts
	if t.layout != nil {
		running = t.layout.k
	}
	return shardCounts{from: shardCount(n, FromShardFactor*size, MaxFromShards, running.from),
		to: shardCount(n, size, MaxShards, running.to)}
}

// shardCount is how many shards of size n endpoints call for, at most
// most; a running layout keeps its count (running) until the endpoints
// outgrow it or fall below a quarter of it, so a host near a boundary
// does not flap.
func shardCount(n, size, most, running int) int {
	want := 1
	for want < most && want*size < n {
		want *= 2
	}
	if running > 0 && want < running && n*4 > running*size {
		return running
	}
	return want
}

// partOf is the index of the shard whose dispatch map name holds iface.
func (l *layout) partOf(name, iface string) int {
	h, ok := l.hash[iface]
	if !ok {
		f := fnv.New32a()
		f.Write([]byte(iface))
		h = f.Sum32()
		l.hash[iface] = h
	}
	if name == rules.ChainToDispatch {
		return 1 + l.k.from + int(h%uint32(l.k.to))
	}
	return 1 + int(h%uint32(l.k.from))
}

// fill computes part p's content from scratch and marks it whole.
func (t *Table) fill(p *Part) {
	p.Chains, p.Sets, p.Dirty = map[string][]ipt.Rule{}, map[string]Set{}, nil
	p.Hooks = t.partHooks(p)
	chains, sets := t.closure(p)
	for name := range chains {
		p.Chains[name] = t.Chains[name]
		t.hold(t.layout.holder, name, p)
	}
	for name := range sets {
		p.Sets[name] = t.partSet(p, name)
		t.hold(t.layout.sets, name, p)
	}
}

func (t *Table) hold(m map[string]map[*Part]bool, name string, p *Part) {
	if m[name] == nil {
		m[name] = map[*Part]bool{}
	}
	m[name][p] = true
}

// partHooks returns the main table's base chains, or a shard's: a
// from-workload shard's dispatch at forward and input, a to-workload
// shard's at forward, each after the accepts and drops that precede the
// dispatch in the main table's chain.
func (t *Table) partHooks(p *Part) []Hook {
	if p.kind == mainPart {
		return t.Hooks
	}
	hook := func(name, hook string, prio int32, chain, dispatch string) Hook {
		var rs []ipt.Rule
		for _, r := range t.Chains[chain] {
			if r.Action == dispatch {
				break
			}
			if (r.Action == "ACCEPT" || r.Action == "DROP") && !strings.Contains(r.Match, "-g ") {
				rs = append(rs, r)
			}
		}
		return Hook{Name: name, Hook: hook, Priority: prio,
			Rules: append(rs, ipt.Rule{Match: dispatchFlags[dispatch] + " vmap " + dispatch})}
	}
	if p.kind == toShard {
		return []Hook{hook("wl-forward-to", "forward", ShardToPriority, rules.ChainForward, rules.ChainToDispatch)}
	}
	return []Hook{
		hook("wl-forward-from", "forward", ShardFromPriority, rules.ChainForward, rules.ChainFromDispatch),
		hook("wl-input-from", "input", ShardFromPriority, rules.ChainInput, rules.ChainFromDispatch),
	}
}

// partSet is set name as part p holds it: a dispatch map holds, in the
// main table, every interface with a return verdict; in a shard, its own
// interfaces with their chains.
func (t *Table) partSet(p *Part, name string) Set {
	s := t.Sets[name]
	if _, ok := dispatchFlags[name]; !ok || !s.IsVMap() {
		return s
	}
	l := t.layout
	if l.split[name] == nil {
		split := make([]map[string]string, len(l.parts))
		for i := range split {
			split[i] = map[string]string{}
		}
		for iface, chain := range s.VMap {
			split[0][iface] = ReturnTarget
			split[l.partOf(name, iface)][iface] = chain
		}
		l.split[name] = split
	}
	return Set{VMap: l.split[name][p.index]}
}

// closure returns the chains and sets part p needs: everything reachable
// from its base chains (a shard's dispatch maps lead to its endpoints'
// chains; the main table's lead nowhere).
func (t *Table) closure(p *Part) (chains, sets map[string]bool) {
	chains, sets = map[string]bool{}, map[string]bool{}
	var stack []string
	visitSet := func(name string) {
		if sets[name] {
			return
		}
		if _, ok := t.Sets[name]; !ok {
			return
		}
		sets[name] = true
		if _, ok := dispatchFlags[name]; ok && p.kind != mainPart {
			for _, chain := range t.partSet(p, name).VMap {
				stack = append(stack, chain)
			}
		}
	}
	visitRules := func(rs []ipt.Rule) {
		r := refsOf(rs, t.Chains)
		stack = append(stack, r.chains...)
		for _, s := range r.sets {
			visitSet(s)
		}
	}
	for _, h := range p.Hooks {
		visitRules(h.Rules)
	}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if chains[name] {
			continue
		}
		if _, ok := t.Chains[name]; !ok {
			continue
		}
		chains[name] = true
		r, ok := t.layout.refs[name]
		if !ok {
			r = refsOf(t.Chains[name], t.Chains)
			t.layout.refs[name] = r
		}
		stack = append(stack, r.chains...)
		for _, s := range r.sets {
			visitSet(s)
		}
	}
	return chains, sets
}

// refsOf lists the chains (jumps, gotos) and sets (matches, maps) rules
// refer to.
func refsOf(rs []ipt.Rule, chains map[string][]ipt.Rule) chainRefs {
	var out chainRefs
	for _, r := range rs {
		if a, _, _ := strings.Cut(r.Action, " "); a != "" {
			if _, ok := chains[a]; ok {
				out.chains = append(out.chains, a)
			}
		}
		f := strings.Fields(r.Match)
		for i := 1; i < len(f); i++ {
			switch f[i-1] {
			case "-g":
				out.chains = append(out.chains, f[i])
			case "--match-set":
				out.sets = append(out.sets, SetName(f[i]))
			case "vmap":
				out.sets = append(out.sets, f[i])
			}
		}
	}
	return out
}

// pendingChange records a change of the Table for its layout: the parts
// holding the chain or set are brought up to date at the next Parts.
func (t *Table) pendingChange(chain, set string) {
	if t.layout == nil {
		return
	}
	if t.pending == nil {
		t.pending = &Dirty{Chains: map[string]bool{}, Sets: map[string]bool{}}
	}
	if chain != "" {
		t.pending.Chains[chain] = true // its cached refs are compared with its new ones in applyPending
	}
	if set != "" {
		t.pending.Sets[set] = true
	}
}

// applyPending brings the parts holding pending changes up to date. A
// changed chain that refers to the same chains and sets as before (a
// policy's rules edited, the usual change) is copied into the parts
// holding it; a part whose dispatch map only gained entries (a container
// started) gains what those lead to; otherwise the part's reachable
// chains and sets are recomputed and compared.
func (t *Table) applyPending() {
	l := t.layout
	// replaced: by dispatch map, the parts whose split map was patched
	// (a new map); a map re-split whole is compared part by part.
	replaced := map[string]map[int]bool{}
	// grown: the parts whose patched maps only gained entries, with the
	// chains those lead to; a part also in touched is recomputed whole.
	grown := map[*Part][]string{}
	shrunk := map[*Part]bool{}
	for name := range dispatchFlags {
		if !t.pending.Sets[name] {
			continue
		}
		if t.dispatchAll[name] || l.split[name] == nil || !t.Sets[name].IsVMap() {
			delete(l.split, name)
			continue
		}
		var patch splitPatch
		replaced[name], patch = t.patchSplit(name, t.dispatchDirty[name])
		for i, targets := range patch.added {
			grown[l.parts[i]] = append(grown[l.parts[i]], targets...)
		}
		for i := range patch.lost {
			shrunk[l.parts[i]] = true
		}
		for i := range replaced[name] {
			p := l.parts[i]
			p.markKeys(name, t.dispatchDirty[name])
			if l.patched == nil {
				l.patched = map[*Part]map[string]bool{}
			}
			if l.patched[p] == nil {
				l.patched[p] = map[string]bool{}
			}
			l.patched[p][name] = true
		}
	}
	defer func() { l.patched = nil }()
	touched := map[*Part]bool{}
	for name := range t.pending.Chains {
		old, cached := l.refs[name]
		delete(l.refs, name)
		rs, exists := t.Chains[name]
		same := false
		if cached && exists {
			cur := refsOf(rs, t.Chains)
			l.refs[name] = cur
			same = slices.Equal(old.chains, cur.chains) && slices.Equal(old.sets, cur.sets)
		}
		for p := range l.holder[name] {
			if !same {
				touched[p] = true
			} else if !slices.Equal(p.Chains[name], rs) {
				p.Chains[name] = rs
				p.markChain(name)
			}
		}
	}
	for name := range t.pending.Sets {
		if _, ok := dispatchFlags[name]; ok {
			if parts, ok := replaced[name]; ok {
				for i := range parts {
					if p := l.parts[i]; shrunk[p] {
						touched[p] = true
					} else if _, ok := grown[p]; !ok {
						grown[p] = nil // its map is refreshed below
					}
				}
				continue
			}
			for _, p := range l.parts { // re-split whole: compare all maps
				if !maps.Equal(p.Sets[name].VMap, t.partSet(p, name).VMap) {
					touched[p] = true
				}
			}
			continue
		}
		for p := range l.sets[name] {
			t.refreshSet(p, name)
		}
	}
	for _, p := range l.parts {
		if touched[p] {
			t.refreshPart(p)
		} else if roots, ok := grown[p]; ok {
			t.growPart(p, roots)
		}
	}
}

// growPart brings part p up to date when its dispatch maps only gained
// entries: the maps are copied again and whatever their new targets
// reach is added (nothing p holds became unreachable, so nothing leaves).
func (t *Table) growPart(p *Part, roots []string) {
	l := t.layout
	for name := range t.pending.Sets {
		if _, held := p.Sets[name]; held {
			if _, ok := dispatchFlags[name]; ok {
				t.refreshSet(p, name)
			}
		}
	}
	stack := roots
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, held := p.Chains[name]; held {
			continue
		}
		rs, ok := t.Chains[name]
		if !ok {
			continue
		}
		p.Chains[name] = rs
		t.hold(l.holder, name, p)
		p.markChain(name)
		r, ok := l.refs[name]
		if !ok {
			r = refsOf(rs, t.Chains)
			l.refs[name] = r
		}
		stack = append(stack, r.chains...)
		for _, set := range r.sets {
			if _, held := p.Sets[set]; !held {
				if _, ok := t.Sets[set]; ok {
					t.hold(l.sets, set, p)
					t.refreshSet(p, set)
				}
			}
		}
	}
}

// patchSplit brings dispatch map name's split up to date for the
// interfaces whose element changed: the main table's map (a return for
// every known interface) and each one's shard's, each copied once before
// its first change. It returns the indexes of the parts whose map it
// replaced: an endpoint coming or going touches three parts (the main
// table, its from- and its to-workload shard), not all 21 of a
// 10,000-endpoint host's (each compared and copied whole before); and
// by part, the targets of the entries added and whether any entry went or
// changed its target.
func (t *Table) patchSplit(name string, ifaces map[string]bool) (map[int]bool, splitPatch) {
	l := t.layout
	split, folded := l.split[name], t.Sets[name].VMap
	replaced := map[int]bool{}
	patch := splitPatch{added: map[int][]string{}, lost: map[int]bool{}}
	edit := func(i int) map[string]string {
		if !replaced[i] {
			split[i] = maps.Clone(split[i])
			replaced[i] = true
		}
		return split[i]
	}
	set := func(i int, iface, target string) {
		cur, has := split[i][iface]
		switch {
		case target == "" && has:
			delete(edit(i), iface)
			patch.lost[i] = true
		case target != "" && (!has || cur != target):
			edit(i)[iface] = target
			if has {
				patch.lost[i] = true
			}
			patch.added[i] = append(patch.added[i], target)
		}
	}
	for iface := range ifaces {
		target, known := folded[iface]
		back := ""
		if known {
			back = ReturnTarget
		}
		set(0, iface, back)
		set(l.partOf(name, iface), iface, target)
		if !known {
			delete(l.hash, iface) // recomputed on demand: no memo of every interface ever seen
		}
	}
	return replaced, patch
}

// splitPatch is what patchSplit changed, by part index: the targets of
// the entries it added, and the parts where an entry went or was
// retargeted (what its old target reached may now be unreachable).
type splitPatch struct {
	added map[int][]string
	lost  map[int]bool
}

// refreshPart recomputes what part p holds and marks the differences.
func (t *Table) refreshPart(p *Part) {
	l := t.layout
	chains, sets := t.closure(p)
	for name := range p.Chains {
		if !chains[name] {
			delete(p.Chains, name)
			delete(l.holder[name], p)
			p.markChain(name)
		}
	}
	for name := range chains {
		rs, held := p.Chains[name]
		if !held || t.pending.Chains[name] && !slices.Equal(rs, t.Chains[name]) {
			p.Chains[name] = t.Chains[name]
			t.hold(l.holder, name, p)
			p.markChain(name)
		}
	}
	for name := range p.Sets {
		if !sets[name] {
			delete(p.Sets, name)
			delete(l.sets[name], p)
			p.markSet(name)
		}
	}
	for name := range sets {
		if _, held := p.Sets[name]; !held || t.pending.Sets[name] {
			t.hold(l.sets, name, p)
			t.refreshSet(p, name)
		}
	}
}

// refreshSet copies set name's content into part p (a set gone from the
// table is gone from the part).
func (t *Table) refreshSet(p *Part, name string) {
	if t.layout.patched[p][name] { // a dispatch map patched at the keys marked
		p.Sets[name] = t.partSet(p, name)
		return
	}
	if _, ok := t.Sets[name]; !ok {
		delete(p.Sets, name)
		delete(t.layout.sets[name], p)
	} else {
		p.Sets[name] = t.partSet(p, name)
	}
	p.markSet(name)
}
