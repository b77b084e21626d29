package nftrules

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// TableName is the name of our table in each family.
const TableName = "calico"

// Base-chain priorities: our filter chains run just before iptables-nft's
// (priority 0), so policy drops happen first; natOutgoing at srcnat; the
// host endpoints' untracked policy at raw (before connection tracking,
// -200) and their pre-DNAT policy at mangle (after connection tracking,
// before DNAT at -100).
const (
	FilterPriority = -5
	NATPriority    = 100
	RawPriority    = -300
	ManglePriority = -150
)

// The iptables tables other than filter and nat whose chains an Input may
// hold (Input.Table): host endpoints' doNotTrack and preDNAT policy.
const (
	TableRaw    = "raw"
	TableMangle = "mangle"
)

// Hook is a base chain of our table: the rules felix/rules keeps at the top
// of a built-in iptables chain.
type Hook struct {
	Name string // our base chain: forward, input, output, postrouting, raw-prerouting, ...
	Hook string // netfilter hook: prerouting, forward, input, output, postrouting; egress (netdev)
	// Devices a netdev hook (egress) is on: names, or name prefixes ending
	// in "*" (nft's wildcard).
	Devices  []string
	NAT      bool // type nat (else filter)
	Priority int32
	Rules    []ipt.Rule
}

// Set is one named set or verdict map of the table.
type Set struct {
	// Prefixes of an address set (interval set of the table's family).
	Prefixes []netip.Prefix
	// VMap, for a verdict map keyed by interface name: iface -> chain the
	// lookup goes to. Nil for address sets.
	VMap map[string]string
}

// IsVMap reports whether s is a verdict map.
func (s Set) IsVMap() bool { return s.VMap != nil }

// Table is the desired content of our table for one family.
type Table struct {
	IPVersion int
	Chains    map[string][]ipt.Rule // regular chains, by name
	Hooks     []Hook                // base chains, sorted by name
	Sets      map[string]Set        // by nft name (SetName)
	// ShardSize, when set before the first Parts, replaces
	// EndpointsPerShard (tests: several shards from a few endpoints).
	ShardSize int
	// egress: the to-workload shards are on the netdev egress hook
	// (egress.go).
	egress bool
	// layout is the Table split into kernel tables (shard.go), and pending
	// what changed since it was last brought up to date.
	layout  *layout
	pending *Dirty
	// dispatch is each dispatch map as rendered (iface -> endpoint
	// chain), endpointOf its reverse; Sets holds them folded (fold.go).
	dispatch   map[string]map[string]string
	endpointOf map[string][]endpointRef
	// dispatchDirty are, by dispatch map, the interfaces whose folded
	// element changed since the layout was last brought up to date;
	// dispatchAll the maps changed wholesale (shard.go re-splits those).
	dispatchDirty map[string]map[string]bool
	dispatchAll   map[string]bool
	// sourceOf is each interface's elements of SourceMap (spoof.go).
	sourceOf map[string]map[string]string
	// inline records what group chains hold their policy's rules
	// (inline.go).
	inline inlineState
}

// Input is what one family's table is built from: felix's filter state
// (felix/rules' chains, inserts and IP sets, or the base state without
// policy), its raw and mangle tables (host endpoints) and, when
// natOutgoing is programmed, felix/nat's chains, inserts and pool sets.
type Input struct {
	IPVersion int
	// Table is "" for filter and nat chains, TableRaw or TableMangle for
	// the chains of those iptables tables: one nftables table holds them
	// all, so theirs are renamed (ChainName) and their inserts go to the
	// table's own base chains.
	Table   string
	Chains  []ipt.Chain
	Inserts map[string][]ipt.Rule
	IPSets  map[string][]netip.Prefix
}

// PolicyInputs returns the inputs of felix/rules' rendering for IP
// version v: its filter chains, inserts and IP sets, and its raw and
// mangle tables (empty without host endpoints).
func PolicyInputs(v int, r rules.Result) []Input {
	return []Input{{IPVersion: v, Chains: r.Chains, Inserts: r.Inserts, IPSets: r.IPSets},
		{IPVersion: v, Table: TableRaw, Chains: r.Raw.Chains, Inserts: r.Raw.Inserts},
		{IPVersion: v, Table: TableMangle, Chains: r.Mangle.Chains, Inserts: r.Mangle.Inserts}}
}

// hookOf maps the built-in iptables chain an insert targets ("raw OUTPUT"
// for another table than filter and nat) to our base chain.
var hookOf = map[string]Hook{
	"FORWARD":           {Name: "forward", Hook: "forward", Priority: FilterPriority},
	"INPUT":             {Name: "input", Hook: "input", Priority: FilterPriority},
	"OUTPUT":            {Name: "output", Hook: "output", Priority: FilterPriority},
	"POSTROUTING":       {Name: "postrouting", Hook: "postrouting", NAT: true, Priority: NATPriority},
	"raw PREROUTING":    {Name: "raw-prerouting", Hook: "prerouting", Priority: RawPriority},
	"raw OUTPUT":        {Name: "raw-output", Hook: "output", Priority: RawPriority},
	"mangle PREROUTING": {Name: "mangle-prerouting", Hook: "prerouting", Priority: ManglePriority},
}

// ChainName is the name in our table of chain name of an iptables table
// ("" for filter and nat, TableRaw, TableMangle): "raw-cali-PREROUTING".
func ChainName(table, name string) string {
	if table == "" {
		return name
	}
	return table + "-" + name
}

// Build returns the desired table of the inputs (all of one IP version).
// Dispatch chains become verdict-map lookups. An insert into a chain with
// no base-chain equivalent, or two inputs with the same chain, is an error.
func Build(ipVersion int, inputs ...Input) (*Table, error) {
	return build(Options{}, ipVersion, inputs)
}

func build(o Options, ipVersion int, inputs []Input) (*Table, error) {
	t := &Table{IPVersion: ipVersion, Chains: map[string][]ipt.Rule{}, Sets: map[string]Set{}, egress: o.Egress}
	hooks := map[string]*Hook{}
	for _, in := range inputs {
		in = in.renamed()
		for _, c := range in.Chains {
			if _, dup := t.Chains[c.Name]; dup {
				return nil, fmt.Errorf("nftables: chain %s rendered twice", c.Name)
			}
			t.Chains[c.Name] = t.chain(c)
		}
		for name, members := range in.IPSets {
			t.Sets[SetName(name)] = Set{Prefixes: members}
		}
		for builtin, rs := range in.Inserts {
			h, ok := hookOf[strings.TrimSpace(in.Table+" "+builtin)]
			if !ok {
				return nil, fmt.Errorf("nftables: no base chain for inserts into %s (only %s)",
					strings.TrimSpace(in.Table+" "+builtin), knownHooks())
			}
			if hooks[h.Name] == nil {
				hooks[h.Name] = &h
			}
			hooks[h.Name].Rules = append(hooks[h.Name].Rules, rs...)
		}
	}
	t.inlineAll()
	t.refoldAll()
	for _, h := range hooks {
		t.Hooks = append(t.Hooks, *h)
	}
	slices.SortFunc(t.Hooks, func(a, b Hook) int { return strings.Compare(a.Name, b.Name) })
	return t, nil
}

func knownHooks() string {
	names := make([]string, 0, len(hookOf))
	for n := range hookOf {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// dispatchFlags are the dispatch chains with the interface flag they match.
var dispatchFlags = map[string]string{rules.ChainFromDispatch: "-i", rules.ChainToDispatch: "-o"}

// chain converts one chain; a dispatch chain becomes a map lookup.
func (t *Table) chain(c ipt.Chain) []ipt.Rule {
	dir, isDispatch := dispatchFlags[c.Name]
	if !isDispatch {
		if t.egress && c.Name == rules.ChainForward {
			return toWorkloadMarked(c.Rules)
		}
		return c.Rules
	}
	vmap := map[string]string{}
	var rest []ipt.Rule
	for _, r := range c.Rules {
		f := strings.Fields(r.Match)
		if len(f) == 4 && f[0] == dir && f[2] == "-g" && r.Action == "" && !strings.HasSuffix(f[1], "+") {
			vmap[f[1]] = f[3]
			continue
		}
		rest = append(rest, r)
	}
	t.setDispatch(c.Name, vmap)
	return append([]ipt.Rule{{Match: dir + " vmap " + c.Name}}, rest...)
}

// SetName is the nftables name of an ipset name of felix/rules or
// felix/nat (":" is not welcome in nft's syntax).
func SetName(ipsetName string) string { return strings.ReplaceAll(ipsetName, ":", "-") }

// renamed returns the input of a raw or mangle table with its chains
// renamed (ChainName), and the jumps and gotos to them in its rules.
func (in Input) renamed() Input {
	if in.Table == "" {
		return in
	}
	own := make(map[string]bool, len(in.Chains))
	for _, c := range in.Chains {
		own[c.Name] = true
	}
	rule := func(r ipt.Rule) ipt.Rule {
		if own[r.Action] {
			r.Action = ChainName(in.Table, r.Action)
		}
		if f := strings.Fields(r.Match); slices.Contains(f, "-g") {
			for i := 1; i < len(f); i++ {
				if f[i-1] == "-g" && own[f[i]] {
					f[i] = ChainName(in.Table, f[i])
				}
			}
			r.Match = strings.Join(f, " ")
		}
		return r
	}
	out := Input{IPVersion: in.IPVersion, Table: in.Table, IPSets: in.IPSets,
		Chains: make([]ipt.Chain, len(in.Chains)), Inserts: make(map[string][]ipt.Rule, len(in.Inserts))}
	for i, c := range in.Chains {
		rs := make([]ipt.Rule, len(c.Rules))
		for j, r := range c.Rules {
			rs[j] = rule(r)
		}
		out.Chains[i] = ipt.Chain{Name: ChainName(in.Table, c.Name), Rules: rs}
	}
	for builtin, rs := range in.Inserts {
		out.Inserts[builtin] = make([]ipt.Rule, len(rs))
		for j, r := range rs {
			out.Inserts[builtin][j] = rule(r)
		}
	}
	return out
}
