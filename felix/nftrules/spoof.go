package nftrules

import (
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strings"

	"github.com/google/nftables/expr"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Anti-spoofing as a map. felix/rules renders a workload's from-workload
// chain as its anti-spoofing followed by a goto to its egress group:
//
//	cali-fw-<iface>:  -m mac ! --mac-source M  -j DROP
//	                  -s A/32 -g <group>        (one per address)
//	                  -j DROP
//
// A chain of exactly that shape is not programmed: each of its addresses
// becomes an element of SourceMap, keyed by interface, source MAC and
// source address (`iifname . ether saddr . ip saddr`), leading to the
// group; and its element of the from-workload dispatch map leads to
// SpoofedChain, which counts and drops (what the source map did not send
// on was spoofed). A from-workload shard's base chains look the packet
// up in the source map before the dispatch map. At 10,000 endpoints the
// per-endpoint chains cost ~0.15 s of a start of day's commit
// (BenchmarkAntiSpoofLayout: four tables of 2,500 chains against four
// maps of 2,500 elements).
//
// What is different: a spoofed packet is counted by its shard's
// SpoofedChain, not by its endpoint's chain. A chain of another shape
// keeps its chain: an endpoint without a MAC, an address that is not a
// single one, a rule of its own, and every endpoint while flow logs are
// on (the chain logs its drops: NFLOG rules, so not the shape). Like the
// lone-goto fold (fold.go) the chain stays in Table.Chains, held by no
// part, and its elements follow it.

// SourceMap is the verdict map of the folded anti-spoofing chains, and
// SpoofedChain the chain their dispatch elements lead to.
const (
	SourceMap    = "cali-from-wl-src"
	SpoofedChain = "cali-spoofed"
)

// spoofedRules are SpoofedChain's rules: a drop (compiled with its
// counter).
var spoofedRules = []ipt.Rule{{Action: "DROP"}}

// srcKeyFlag is the match of a lookup in SourceMap (Compile).
const srcKeyFlag = "--iif-mac-saddr"

// SourceKey is an element key of SourceMap as a string: "iface mac addr".
func SourceKey(iface string, mac net.HardwareAddr, addr netip.Addr) string {
	return iface + " " + mac.String() + " " + addr.String()
}

// ParseSourceKey splits a SourceKey.
func ParseSourceKey(k string) (iface string, mac net.HardwareAddr, addr netip.Addr, err error) {
	f := strings.Fields(k)
	if len(f) != 3 {
		return "", nil, netip.Addr{}, fmt.Errorf("source map key %q: want interface, MAC and address", k)
	}
	if mac, err = net.ParseMAC(f[1]); err != nil || len(mac) != 6 {
		return "", nil, netip.Addr{}, fmt.Errorf("source map key %q: MAC %q", k, f[1])
	}
	if addr, err = netip.ParseAddr(f[2]); err != nil {
		return "", nil, netip.Addr{}, fmt.Errorf("source map key %q: %w", k, err)
	}
	return f[0], mac, addr, nil
}

// sourceIface is the interface of a SourceKey.
func sourceIface(k string) string {
	iface, _, _ := strings.Cut(k, " ")
	return iface
}

// sourceEntries returns the SourceMap elements of endpoint chain rs of
// iface, when it has the anti-spoofing shape above.
func sourceEntries(iface string, rs []ipt.Rule) (map[string]string, bool) {
	if len(rs) < 3 || rs[0].Action != "DROP" || rs[len(rs)-1] != (ipt.Rule{Action: "DROP"}) {
		return nil, false
	}
	f := strings.Fields(rs[0].Match)
	if len(f) != 5 || f[0] != "-m" || f[1] != "mac" || f[2] != "!" || f[3] != "--mac-source" {
		return nil, false
	}
	mac, err := net.ParseMAC(f[4])
	if err != nil || len(mac) != 6 {
		return nil, false
	}
	out := make(map[string]string, len(rs)-2)
	for _, r := range rs[1 : len(rs)-1] {
		f := strings.Fields(r.Match)
		if r.Action != "" || len(f) != 4 || f[0] != "-s" || f[2] != "-g" {
			return nil, false
		}
		p, err := netip.ParsePrefix(f[1])
		if err != nil || !p.IsSingleIP() {
			return nil, false
		}
		out[SourceKey(iface, mac, p.Addr())] = f[3]
	}
	return out, true
}

// refoldSource brings iface's SourceMap elements up to date with its
// from-workload endpoint chain c ("": gone); a change is pending for the
// parts (the elements changed are marked, as a dispatch map's).
func (t *Table) refoldSource(iface, c string) {
	var want map[string]string
	if c != "" {
		want, _ = sourceEntries(iface, t.Chains[c])
	}
	if t.sourceOf == nil {
		t.sourceOf = map[string]map[string]string{}
	}
	old := t.sourceOf[iface]
	if maps.Equal(old, want) {
		return
	}
	m := t.Sets[SourceMap].VMap
	for k := range old {
		if _, keep := want[k]; !keep {
			delete(m, k)
			t.noteDispatch(SourceMap, k)
		}
	}
	for k, to := range want {
		if m[k] != to {
			m[k] = to
			t.noteDispatch(SourceMap, k)
		}
	}
	if len(want) == 0 {
		delete(t.sourceOf, iface)
	} else {
		t.sourceOf[iface] = want
	}
	t.pendingChange("", SourceMap)
}

// srcLookup is a from-workload shard's base chains' rule before the
// dispatch map's lookup.
var srcLookup = ipt.Rule{Match: srcKeyFlag + " vmap " + SourceMap}

// isDispatchMap reports whether set name is split across the parts by
// interface (shard.go): the dispatch maps and the source map.
func isDispatchMap(name string) bool {
	_, ok := dispatchFlags[name]
	return ok || name == SourceMap
}

// dispatchMaps are the sets isDispatchMap reports.
var dispatchMaps = []string{rules.ChainFromDispatch, rules.ChainToDispatch, SourceMap}

// sourceLookup compiles "--iif-mac-saddr vmap NAME": a lookup of the
// packet's input interface, source MAC and source address in verdict
// map NAME. The key fills 32-bit registers from the first (netlink's
// 8): the interface name's 16 bytes, the MAC's 6 (padded to 8), the
// address.
func (c *compiler) sourceLookup(arg string) error {
	if arg != "vmap" {
		return fmt.Errorf("%s %q: want %s vmap NAME", srcKeyFlag, arg, srcKeyFlag)
	}
	if c.netdev || c.neg {
		return fmt.Errorf("%s: only on a forward or input hook, not negated", srcKeyFlag)
	}
	set, err := c.next()
	if err != nil {
		return err
	}
	off, size := c.addrField(true)
	c.emit(&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: reg32},
		&expr.Payload{DestRegister: reg32 + 4, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6},
		&expr.Payload{DestRegister: reg32 + 6, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
		&expr.Lookup{SourceRegister: reg32, DestRegister: 0, IsDestRegSet: true, SetName: set})
	return nil
}
