package nftrules

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables/expr"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// TestSourceMapFold: an endpoint's from-workload chain of the
// anti-spoofing shape is held by no part; its address is an element of
// the source map in its from-workload shard (keyed by interface, MAC and
// address, leading to its egress group) and its dispatch element leads to
// the shard's SpoofedChain. A chain of another shape keeps its chain
// and has no element; a fold follows the chain's changes both ways.
func TestSourceMapFold(t *testing.T) {
	tab := scaleTableCfg(t, Options{}, rules.Config{IPVersion: 4}, 20, nil)
	iface := rules.ScaleIface(3)
	fw := rules.EndpointChain(iface, true)
	key := SourceKey(iface, net.HardwareAddr{0x02, 0x42, 0x0a, 0, 0, 3}, netip.MustParseAddr("10.0.0.3"))
	group := strings.Fields(tab.Chains[fw][1].Match)[3]
	state := func() (held bool, dispatch string, elems map[string]string) {
		elems = map[string]string{}
		for _, p := range tab.Parts() {
			checkClosed(t, p)
			if _, ok := p.Chains[fw]; ok {
				held = true
			}
			if d, ok := p.Sets[rules.ChainFromDispatch].VMap[iface]; ok && d != ReturnTarget {
				dispatch = d
			}
			for k, v := range p.Sets[SourceMap].VMap {
				if strings.HasPrefix(k, iface+" ") {
					if p.kind != fromShard {
						t.Errorf("%s holds source map element %s", p.Name, k)
					}
					elems[k] = v
				}
			}
		}
		return held, dispatch, elems
	}
	if held, d, elems := state(); held || d != SpoofedChain || len(elems) != 1 || elems[key] != group {
		t.Fatalf("folded: held %v, dispatch to %q, elements %v; want none, %s, {%s: %s}", held, d, elems, SpoofedChain, key, group)
	}
	rs := tab.Chains[fw]
	// A second address: two elements, the dispatch element unchanged.
	two := slices.Insert(slices.Clone(rs), 2, ipt.Rule{Match: "-s 10.9.0.1/32 -g " + group})
	tab.Reset()
	tab.SetChain(ipt.Chain{Name: fw, Rules: two})
	second := SourceKey(iface, net.HardwareAddr{0x02, 0x42, 0x0a, 0, 0, 3}, netip.MustParseAddr("10.9.0.1"))
	if held, d, elems := state(); held || d != SpoofedChain || len(elems) != 2 || elems[second] != group {
		t.Errorf("two addresses: held %v, dispatch to %q, elements %v", held, d, elems)
	}
	for _, other := range [][]ipt.Rule{
		append([]ipt.Rule{{Match: "-p udp", Action: "DROP"}}, rs...), // a rule of its own
		rs[1:], // no MAC check
		{rs[0], {Match: "-s 10.9.0.0/24 -g " + group}, rs[2]}, // a prefix, not an address
	} {
		tab.Reset()
		tab.SetChain(ipt.Chain{Name: fw, Rules: other})
		if held, d, elems := state(); !held || d != fw || len(elems) != 0 {
			t.Errorf("chain %v: held %v, dispatch to %q, elements %v; want it held, the dispatch to it and no element", other, held, d, elems)
		}
	}
	tab.Reset()
	tab.SetChain(ipt.Chain{Name: fw, Rules: rs})
	if held, d, elems := state(); held || d != SpoofedChain || len(elems) != 1 {
		t.Errorf("folded again: held %v, dispatch to %q, elements %v", held, d, elems)
	}
	tab.Reset() // the endpoint gone, as a render's delta says it
	tab.ApplyDelta(rules.Delta{Changed: []string{rules.ChainFromDispatch}, Removed: []string{fw},
		Dispatch: map[string]bool{iface: false}}, nil, nil)
	if held, d, elems := state(); held || d != "" || len(elems) != 0 {
		t.Errorf("endpoint removed: held %v, dispatch to %q, elements %v", held, d, elems)
	}
}

// TestSourceKey: a key reads back as written; a malformed one is refused
// with what is wrong.
func TestSourceKey(t *testing.T) {
	mac := net.HardwareAddr{2, 0x42, 1, 2, 3, 4}
	for _, a := range []string{"10.1.2.3", "fd00::7"} {
		k := SourceKey("cali1", mac, netip.MustParseAddr(a))
		iface, m, addr, err := ParseSourceKey(k)
		if err != nil || iface != "cali1" || m.String() != mac.String() || addr.String() != a {
			t.Errorf("%q: %s %s %s %v", k, iface, m, addr, err)
		}
	}
	for k, want := range map[string]string{
		"cali1 02:42:01:02:03:04":                "want interface, MAC and address",
		"cali1 02:42:01:02:03 10.0.0.1":          "MAC",
		"cali1 02:42:01:02:03:04 10.0.0.0/8":     "ParseAddr",
		"cali1 02:42:01:02:03:04:05:06 10.0.0.1": "MAC",
		"cali1 02:42:01:02:03:04 10.0.0.1 extra": "want interface, MAC and address",
	} {
		if _, _, _, err := ParseSourceKey(k); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one saying %q", k, err, want)
		}
	}
}

// TestSourceLookupKey: a from-workload shard's lookup in the source map
// loads the input interface into the first 32-bit registers (four), the
// source MAC after it (two: six bytes padded), then the source address,
// and sends the packet where the element says.
func TestSourceLookupKey(t *testing.T) {
	for _, tc := range []struct {
		v        int
		off, len uint32
	}{{4, 12, 4}, {6, 8, 16}} {
		got, err := Compile(tc.v, "wl-forward-from", srcLookup)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("[meta iifname 8] [ll 6+6 12] [network %d+%d 14] [lookup 8 %s verdict]", tc.off, tc.len, SourceMap)
		var b []string
		for _, e := range got {
			switch e := e.(type) {
			case *expr.Meta:
				if e.Key == expr.MetaKeyIIFNAME {
					b = append(b, fmt.Sprintf("[meta iifname %d]", e.Register))
				}
			case *expr.Payload:
				base := map[expr.PayloadBase]string{expr.PayloadBaseLLHeader: "ll", expr.PayloadBaseNetworkHeader: "network"}[e.Base]
				b = append(b, fmt.Sprintf("[%s %d+%d %d]", base, e.Offset, e.Len, e.DestRegister))
			case *expr.Lookup:
				v := ""
				if e.IsDestRegSet && e.DestRegister == 0 {
					v = " verdict"
				}
				b = append(b, fmt.Sprintf("[lookup %d %s%s]", e.SourceRegister, e.SetName, v))
			default:
				b = append(b, fmt.Sprintf("[%T]", e))
			}
		}
		if s := strings.Join(b, " "); s != want {
			t.Errorf("IPv%d: %s, want %s", tc.v, s, want)
		}
	}
	for _, bad := range []string{srcKeyFlag + " vmap", srcKeyFlag + " map x", "! " + srcLookup.Match} {
		if _, err := Compile(4, "wl-forward-from", ipt.Rule{Match: bad}); err == nil {
			t.Errorf("%q compiled", bad)
		}
	}
	if _, err := CompileNetdev(4, "wl-egress-to", srcLookup); err == nil {
		t.Error("a source lookup compiled for the egress hook, which has no input interface")
	}
}
