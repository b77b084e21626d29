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
// (priority 0), so policy drops happen first; natOutgoing at srcnat.
const (
	FilterPriority = -5
	NATPriority    = 100
)

// Hook is a base chain of our table: the rules felix/rules keeps at the top
// of a built-in iptables chain.
type Hook struct {
	Name     string // our base chain: forward, input, output, postrouting
	Hook     string // netfilter hook: forward, input, output, postrouting
	NAT      bool   // type nat (else filter)
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
	// Dirty is what changed since the driver last programmed this Table
	// (patch.go); nil: plan it whole.
	Dirty *Dirty
}

// Input is what one family's table is built from: felix's filter state
// (felix/rules' chains, inserts and IP sets, or the base state without
// policy) and, when natOutgoing is programmed, felix/nat's chains, inserts
// and pool sets.
type Input struct {
	IPVersion int
	Chains    []ipt.Chain
	Inserts   map[string][]ipt.Rule
	IPSets    map[string][]netip.Prefix
}

// hookOf maps the built-in iptables chain an insert targets to our base chain.
var hookOf = map[string]Hook{
	"FORWARD":     {Name: "forward", Hook: "forward", Priority: FilterPriority},
	"INPUT":       {Name: "input", Hook: "input", Priority: FilterPriority},
	"OUTPUT":      {Name: "output", Hook: "output", Priority: FilterPriority},
	"POSTROUTING": {Name: "postrouting", Hook: "postrouting", NAT: true, Priority: NATPriority},
}

// Build returns the desired table of the inputs (all of one IP version).
// Dispatch chains become verdict-map lookups. An insert into a chain with
// no base-chain equivalent, or two inputs with the same chain, is an error.
func Build(ipVersion int, inputs ...Input) (*Table, error) {
	t := &Table{IPVersion: ipVersion, Chains: map[string][]ipt.Rule{}, Sets: map[string]Set{}}
	hooks := map[string]*Hook{}
	for _, in := range inputs {
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
			h, ok := hookOf[builtin]
			if !ok {
				return nil, fmt.Errorf("nftables: no base chain for inserts into %s (only %s)", builtin, knownHooks())
			}
			if hooks[h.Name] == nil {
				hooks[h.Name] = &h
			}
			hooks[h.Name].Rules = append(hooks[h.Name].Rules, rs...)
		}
	}
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
	t.Sets[c.Name] = Set{VMap: vmap}
	return append([]ipt.Rule{{Match: dir + " vmap " + c.Name}}, rest...)
}

// SetName is the nftables name of an ipset name of felix/rules or
// felix/nat (":" is not welcome in nft's syntax).
func SetName(ipsetName string) string { return strings.ReplaceAll(ipsetName, ":", "-") }
