package nftrules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Egress mode: the to-workload shards on the netdev egress hook.
//
// On the forward hook every shard's base chain is one more hook entry
// that every forwarded packet passes, whatever it holds: 16 to-workload
// shards cost a 10,000-endpoint host's traffic ~15 % of its throughput
// (docs/nftables.md). A netdev table's base chain hooks devices instead,
// so in egress mode a to-workload shard is a netdev table whose one base
// chain (wl-egress-to) hooks the egress of its own interfaces, and a
// packet passes only the shard of the interface it leaves by. The shard
// holds what a forward-hook shard holds (its endpoints' cali-tw- chains,
// what they reach, its slice of the to-workload dispatch map).
//
// Interfaces: a Calico interface name is "cali" and hex digits (of a
// random endpoint ID), so shard i of k hooks the name prefixes cali<d>*
// for the hex digits d with d mod k = i (Linux 6.16's wildcard hooks: the
// kernel attaches a device that appears later by itself, and a container
// start changes no hook). A name with another fifth character c (made by
// hand) is on shard c mod k, which then also hooks cali<c>*; a name
// without one ("cali", or another prefix) is hooked by its exact name on
// the shard its hash picks. A shard's chain is re-created when such names
// come or go. (A hook takes at most 256 devices: 16 hex digits and every
// other character a name may have fit.)
//
// What the chain polices: exactly what the forward-hook shard would
// have. The main table's cali-FORWARD marks (MarkToWorkload) a packet
// once it reaches the to-workload dispatch (not established, related or
// invalid; a known interface); the egress chain accepts unmarked packets
// (the host's own, which Calico does not police; established traffic)
// and another IP version's (its table is another netdev table), then
// dispatches as the forward-hook shard did. Egress policy still runs
// first (the forward hook comes before a device's egress). Compiled for a
// netdev table (CompileNetdev): no conntrack there, so a flow log rule's
// "first packet of a connection" (ctstate NEW) is implied by the mark,
// and an NFLOG payload starts at the Ethernet header (its prefix says so:
// felix/flowlogs).

const (
	// egressPrefix names the to-workload shards on the egress hook:
	// calico-v4-to0 … (netdev tables are of no IP family, so the name
	// tells the two apart).
	egressPrefix = TableName + "-v"
	// EgressHook is the netdev hook of the to-workload shards' base
	// chains in egress mode (Options.Egress).
	EgressHook = "egress"
	// MarkToWorkload, in egress mode, is set on a forwarded packet that
	// the main table's forward chain sent on to a workload's ingress
	// policy (neither established, related nor invalid; a known
	// interface): the only packets the egress-hook shards police. A
	// netdev table cannot match conntrack state, and a packet the host
	// itself sends to a workload (not policed, as in cali-OUTPUT) passes
	// the same hook unmarked. Outside felix/rules' policy bits
	// (MarkAccept, MarkPass); a veth into the workload's namespace
	// clears it.
	MarkToWorkload = 0x40000
)

// EgressShardName is the netdev table name of IP version v's
// to-workload shard i in egress mode.
func EgressShardName(v, i int) string { return fmt.Sprintf("%s%d-to%d", egressPrefix, v, i) }

// IsEgressShardName reports whether a table name is one of our egress-hook
// shards', and of which IP version.
func IsEgressShardName(name string) (v int, ok bool) {
	rest, ok := strings.CutPrefix(name, egressPrefix)
	if !ok {
		return 0, false
	}
	ver, idx, ok := strings.Cut(rest, "-to")
	n, err := strconv.Atoi(idx)
	if !ok || (ver != "4" && ver != "6") || err != nil || n < 0 || strconv.Itoa(n) != idx {
		return 0, false
	}
	return int(ver[0] - '0'), true
}

// Options choose how a Table is laid out in kernel tables.
type Options struct {
	// Egress puts the to-workload shards on the netdev egress hook
	// (needs Linux 6.16's device-prefix hooks: the driver probes).
	Egress bool
}

// BuildWith is Build with options.
func BuildWith(o Options, ipVersion int, inputs ...Input) (*Table, error) {
	return build(o, ipVersion, inputs)
}

// Egress reports whether t's to-workload shards are on the egress hook.
func (t *Table) Egress() bool { return t.egress }

// toWorkloadMarked returns cali-FORWARD with the to-workload mark set on
// the packets that came back from the to-workload dispatch (known
// interfaces: unknown ones are dropped there).
func toWorkloadMarked(rs []ipt.Rule) []ipt.Rule {
	i := slices.IndexFunc(rs, func(r ipt.Rule) bool { return r.Action == rules.ChainToDispatch })
	if i < 0 {
		return rs
	}
	mark := ipt.Rule{Match: rs[i].Match, Action: rules.MarkAction(MarkToWorkload, MarkToWorkload)}
	return slices.Insert(slices.Clone(rs), i+1, mark)
}

// egressSlot is what picks the shard of a workload interface in egress
// mode: the value of the character after "cali" (a hex digit's value, any
// other character's code), and whether that character is a hex digit;
// ok is false for a name without one.
func egressSlot(iface string) (slot int, hex, ok bool) {
	rest, ok := strings.CutPrefix(iface, rules.IfacePrefix)
	if !ok || rest == "" {
		return 0, false, false
	}
	switch c := rest[0]; {
	case c >= '0' && c <= '9':
		return int(c - '0'), true, true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true, true
	default:
		return int(c), false, true
	}
}

// egressHook is egress-mode to-workload shard p's base chain.
func (t *Table) egressHook(p *Part) Hook {
	ethertype := "0x0800"
	if t.IPVersion == 6 {
		ethertype = "0x86dd"
	}
	return Hook{Name: "wl-egress-to", Hook: EgressHook, Devices: t.egressDevices(p), Rules: []ipt.Rule{
		{Match: rules.MarkMatch(0, MarkToWorkload), Action: "ACCEPT"},
		{Match: "-m ethertype ! --ethertype " + ethertype, Action: "ACCEPT"},
		{Match: "-o vmap " + rules.ChainToDispatch},
	}}
}

// egressDevices are the devices shard p's chain hooks: its hex digits'
// name prefixes (nft's "cali5*"), then those of its interfaces' other
// fifth characters, then its interfaces' names without one.
func (t *Table) egressDevices(p *Part) []string {
	i, k := p.index-1-t.layout.k.from, t.layout.k.to
	var devs []string
	for d := i; d < 16; d += k {
		devs = append(devs, fmt.Sprintf("%s%x*", rules.IfacePrefix, d))
	}
	var odd []string
	for iface := range t.partSet(p, rules.ChainToDispatch).VMap {
		switch _, hex, ok := egressSlot(iface); {
		case !ok:
			odd = append(odd, iface)
		case !hex:
			odd = append(odd, iface[:len(rules.IfacePrefix)+1]+"*")
		}
	}
	slices.Sort(odd)
	return append(devs, slices.Compact(odd)...)
}

// refreshEgressHook re-creates shard p's base chain when its devices
// changed. Only an interface of another name than cali<hex digit>…
// coming or going changes them: changed, when not nil, are the only
// interfaces whose entries changed (a container start need not go
// through the shard's map).
func (t *Table) refreshEgressHook(p *Part, changed map[string]bool) {
	if !p.Netdev {
		return
	}
	if changed != nil && !anyOddName(changed) {
		return
	}
	if h := t.egressHook(p); !slices.Equal(h.Devices, p.Hooks[0].Devices) {
		p.Hooks = []Hook{h}
	}
}

// anyOddName reports whether an interface is not named cali<hex digit>….
func anyOddName(ifaces map[string]bool) bool {
	for iface := range ifaces {
		if _, hex, ok := egressSlot(iface); !ok || !hex {
			return true
		}
	}
	return false
}
