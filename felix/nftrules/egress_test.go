package nftrules

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables/expr"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// In egress mode the to-workload shards are netdev tables, each hooking
// the egress of the interfaces whose fifth character it owns; the main
// table marks what they are to police; the from-workload side is as in
// forward mode.
func TestEgressLayout(t *testing.T) {
	tab := scaleTableOpts(t, Options{Egress: true}, 600, nil)
	parts := tab.Parts()
	if len(parts) != 6 || parts[1].Name != ShardName(0) || parts[1].Netdev {
		t.Fatalf("%d parts (%s), want the main table, one from-workload shard, 4 to-workload ones", len(parts), parts[1].Name)
	}
	for i, p := range parts[2:] {
		checkClosed(t, p)
		if p.Name != EgressShardName(4, i) || !p.Netdev {
			t.Errorf("to-workload shard %d: %s (netdev %v), want %s on netdev", i, p.Name, p.Netdev, EgressShardName(4, i))
		}
		var want []string
		for d := i; d < 16; d += 4 {
			want = append(want, fmt.Sprintf("cali%x*", d))
		}
		if len(p.Hooks) != 1 || p.Hooks[0].Hook != EgressHook || !slices.Equal(p.Hooks[0].Devices, want) {
			t.Errorf("%s hooks %+v, want one egress hook on %v", p.Name, p.Hooks, want)
		}
		vmap := p.Sets[rules.ChainToDispatch].VMap
		if len(vmap) < 100 {
			t.Errorf("%s holds %d interfaces: the names do not spread", p.Name, len(vmap))
		}
		for iface := range vmap {
			if slot, _, _ := egressSlot(iface); slot%4 != i {
				t.Errorf("%s holds %s (slot %d)", p.Name, iface, slot)
			}
		}
		for name := range p.Chains {
			if strings.HasPrefix(name, "cali-fw-") {
				t.Errorf("%s holds from-workload chain %s", p.Name, name)
			}
		}
	}
	fwd := tab.Chains[rules.ChainForward]
	i := slices.IndexFunc(fwd, func(r ipt.Rule) bool { return r.Action == rules.ChainToDispatch })
	if i < 0 || i+1 >= len(fwd) || fwd[i+1].Action != rules.MarkAction(MarkToWorkload, MarkToWorkload) {
		t.Errorf("cali-FORWARD does not mark what comes back from the to-workload dispatch:\n%v", fwd)
	}
	if plain := scaleTable(t, 10).Chains[rules.ChainForward]; slices.ContainsFunc(plain, func(r ipt.Rule) bool { return strings.Contains(r.Action, "MARK") }) {
		t.Errorf("forward mode marks: %v", plain)
	}
}

// Names that do not fit the hex digits get hooks of their own: a prefix
// for another fifth character, the exact name otherwise; they go when
// the last such interface does.
func TestEgressOddNames(t *testing.T) {
	tab := scaleTableOpts(t, Options{Egress: true}, 20, nil)
	tab.ShardSize = 8 // four to-workload shards
	tab.Parts()
	tab.Reset()
	dispatch := func(extra ...string) {
		var rs []ipt.Rule
		for iface, chain := range tab.dispatch[rules.ChainToDispatch] {
			if !strings.HasPrefix(iface, "caliZ") && iface != "tap7" {
				rs = append(rs, ipt.Rule{Match: "-o " + iface + " -g " + chain})
			}
		}
		for _, iface := range extra {
			rs = append(rs, ipt.Rule{Match: "-o " + iface + " -g " + rules.EndpointChain(rules.ScaleIface(0), false)})
		}
		tab.SetChain(ipt.Chain{Name: rules.ChainToDispatch, Rules: append(rs, ipt.Rule{Action: "DROP"})})
	}
	devicesOf := func() map[string][]string {
		out := map[string][]string{}
		for _, p := range tab.Parts() {
			if p.Netdev {
				checkClosed(t, p)
				out[p.Name] = p.Hooks[0].Devices
			}
		}
		return out
	}
	before := devicesOf()
	dispatch("caliZoo", "caliZap", "tap7")
	after := devicesOf()
	zShard := EgressShardName(4, 'Z'%4)
	if !slices.Contains(after[zShard], "caliZ*") {
		t.Errorf("%s hooks %v, want caliZ* too", zShard, after[zShard])
	}
	tapShard := EgressShardName(4, tab.layout.partOf(rules.ChainToDispatch, "tap7")-1-tab.layout.k.from)
	if !slices.Contains(after[tapShard], "tap7") {
		t.Errorf("%s hooks %v, want tap7 too", tapShard, after[tapShard])
	}
	for name, devs := range after {
		if name != zShard && name != tapShard && !slices.Equal(devs, before[name]) {
			t.Errorf("%s's hooks changed: %v, were %v", name, devs, before[name])
		}
	}
	if got := tab.Parts()[0].Sets[rules.ChainToDispatch].VMap["caliZoo"]; got != ReturnTarget {
		t.Errorf("main table's entry for caliZoo: %q", got)
	}
	tab.Reset()
	dispatch()
	if got := devicesOf(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("hooks after the odd names went: %v, want %v", got, before)
	}
}

// A netdev table's rules: no conntrack but the NEW a flow log rule
// carries, no input interface, an NFLOG prefix that says the payload
// starts at the Ethernet header; the family check compiles.
func TestCompileNetdev(t *testing.T) {
	for _, tc := range []struct {
		rule ipt.Rule
		want []string
		err  string
	}{
		{ipt.Rule{Match: "-m conntrack --ctstate NEW", Action: `NFLOG --nflog-group 1 --nflog-prefix "AI0|pro:net1"`}, []string{"Log", "Counter"}, ""},
		{ipt.Rule{Match: "-m conntrack --ctstate RELATED,ESTABLISHED", Action: "ACCEPT"}, nil, "netdev"},
		{ipt.Rule{Match: "-m conntrack ! --ctstate NEW", Action: "DROP"}, nil, "netdev"},
		{ipt.Rule{Match: "-i cali+", Action: "DROP"}, nil, "egress hook"},
		{ipt.Rule{Match: "-m ethertype ! --ethertype 0x0800", Action: "ACCEPT"}, []string{"Meta", "Cmp", "Counter", "Verdict"}, ""},
		{ipt.Rule{Match: "-m ethertype --ethertype ip", Action: "ACCEPT"}, nil, "16-bit number"},
		{ipt.Rule{Match: "-o vmap cali-to-wl-dispatch"}, []string{"Meta", "Lookup", "Counter"}, ""}, // (a policy chain's rule counts)
	} {
		exprs, err := CompileNetdev(4, "cali-pi-test", tc.rule)
		if !checkCompiled(t, tc.rule, exprs, err, tc.want, tc.err) {
			continue
		}
		for _, e := range exprs {
			if l, ok := e.(*expr.Log); ok && string(l.Data) != "aI0|pro:net1" {
				t.Errorf("NFLOG prefix %q, want aI0|pro:net1", l.Data)
			}
		}
	}
}

func TestEgressShardNames(t *testing.T) {
	for name, want := range map[string]int{EgressShardName(4, 0): 4, EgressShardName(6, 15): 6, "calico-v4-to": 0,
		"calico-v5-to1": 0, "calico-v4-to01": 0, ShardName(1): 0, TableName: 0, "calico-v6-to-1": 0} {
		if v, ok := IsEgressShardName(name); v != want || ok != (want != 0) {
			t.Errorf("IsEgressShardName(%q) = %d, %v", name, v, ok)
		}
	}
}
