package nftrules

import (
	"hash/fnv"
	"maps"
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
	Name string
	// Netdev: a netdev table (egress mode's to-workload shards), whose
	// base chain hooks devices (Hook.Devices); else one of the Table's IP
	// family.
	Netdev bool
	Chains map[string][]ipt.Rule
	Hooks  []Hook
	Sets   map[string]Set
	Dirty  *Dirty
	kind   partKind
	index  int // in the layout's parts
	// uses counts the references to each chain and set within the part
	// (from its base chains, the chains it holds and its dispatch maps'
	// entries): a chain or set is held while it exists and is used
	// (holdings.go).
	chainUses, setUses map[string]int
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
	egress bool                      // the to-workload shards are on the egress hook (Table.egress)
	parts  []*Part                   // main first, then the shards
	refs   map[string]chainRefs      // chain -> what it refers to (memo of refsOf)
	holder map[string]map[*Part]bool // chain -> parts holding it
	sets   map[string]map[*Part]bool // set -> parts holding it
	hash   map[string]uint32         // interface -> its hash (memo)
	// split is each dispatch map as each part holds it (by part index):
	// computed whole when a map changed wholesale, else patched copy on
	// write for the interfaces that changed (the driver keeps the maps it
	// programmed to diff the next ones against).
	split map[string][]map[string]string
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
	l := &layout{k: k, egress: t.egress, refs: map[string]chainRefs{}, holder: map[string]map[*Part]bool{},
		sets: map[string]map[*Part]bool{}, hash: map[string]uint32{}, split: map[string][]map[string]string{}}
	t.layout = l
	l.parts = append(l.parts, &Part{Name: TableName})
	for i := range k.from + k.to {
		p := &Part{Name: ShardName(i), kind: fromShard, index: len(l.parts)}
		if i >= k.from {
			p.kind = toShard
			if t.egress {
				p.Name, p.Netdev = EgressShardName(t.IPVersion, i-k.from), true
			}
		}
		l.parts = append(l.parts, p)
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

// partOfKey is the index of the shard whose map name (isDispatchMap)
// holds key: an interface, or a SourceMap key.
func (l *layout) partOfKey(name, key string) int {
	if name == SourceMap {
		return l.partOf(rules.ChainFromDispatch, sourceIface(key))
	}
	return l.partOf(name, key)
}

// partOf is the index of the shard whose dispatch map name holds iface.
func (l *layout) partOf(name, iface string) int {
	if slot, _, ok := egressSlot(iface); ok && l.egress && name == rules.ChainToDispatch {
		return 1 + l.k.from + slot%l.k.to
	}
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
		if dispatch == rules.ChainFromDispatch {
			rs = append(rs, srcLookup)
		}
		return Hook{Name: name, Hook: hook, Priority: prio,
			Rules: append(rs, ipt.Rule{Match: dispatchFlags[dispatch] + " vmap " + dispatch})}
	}
	if p.kind == toShard && p.Netdev {
		return []Hook{t.egressHook(p)}
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
	if !isDispatchMap(name) || !s.IsVMap() {
		return s
	}
	l := t.layout
	if l.split[name] == nil {
		split := make([]map[string]string, len(l.parts))
		for i := range split {
			split[i] = map[string]string{}
		}
		for key, chain := range s.VMap {
			if name != SourceMap {
				split[0][key] = ReturnTarget
			}
			split[l.partOfKey(name, key)][key] = chain
		}
		l.split[name] = split
	}
	return Set{VMap: l.split[name][p.index]}
}

// refsOf lists the chains (jumps, gotos) and sets (matches, maps) rules
// refer to, whether the Table has them or not: a jump's target is a
// chain when it is not an iptables target (those are upper case; our
// chains' names are not).
func refsOf(rs []ipt.Rule) chainRefs {
	var out chainRefs
	for _, r := range rs {
		if a, _, _ := strings.Cut(r.Action, " "); a != "" && a != strings.ToUpper(a) {
			out.chains = append(out.chains, a)
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
		t.pending.Chains[chain] = true // the parts holding it swap its old references for its new ones
	}
	if set != "" {
		t.pending.Sets[set] = true
	}
}

// patchSplit brings dispatch map name's split up to date for the
// interfaces whose element changed: the main table's map (a return for
// every known interface) and each one's shard's, each copied once before
// its first change. It returns the indexes of the parts whose map it
// replaced: an endpoint coming or going touches three parts (the main
// table, its from- and its to-workload shard), not all 21 of a
// 10,000-endpoint host's (each compared and copied whole before); and
// by part, the targets of the entries added and removed.
func (t *Table) patchSplit(name string, ifaces map[string]bool) (map[int]bool, splitPatch) {
	l := t.layout
	split, folded := l.split[name], t.Sets[name].VMap
	replaced := map[int]bool{}
	patch := splitPatch{added: map[int][]string{}, removed: map[int][]string{}}
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
			patch.removed[i] = append(patch.removed[i], cur)
		case target != "" && (!has || cur != target):
			edit(i)[iface] = target
			if has {
				patch.removed[i] = append(patch.removed[i], cur)
			}
			patch.added[i] = append(patch.added[i], target)
		}
	}
	for key := range ifaces {
		target, known := folded[key]
		if name != SourceMap { // the main table does not look it up
			back := ""
			if known {
				back = ReturnTarget
			}
			set(0, key, back)
		}
		set(l.partOfKey(name, key), key, target)
		if !known && name != SourceMap {
			delete(l.hash, key) // recomputed on demand: no memo of every interface ever seen
		}
	}
	return replaced, patch
}

// splitPatch is what patchSplit changed, by part index: the targets of
// the entries it added, and those of the entries it removed (an entry
// retargeted is both).
type splitPatch struct{ added, removed map[int][]string }
