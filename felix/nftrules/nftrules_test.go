package nftrules

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables/expr"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nat"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Every rule felix/rules renders for the scale model and felix/nat's
// rules compile, in both families; dispatch chains become verdict maps.
func TestBuildRenderedTables(t *testing.T) {
	m, err := rules.ScaleModel(50, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{4, 6} {
		res := rules.Render(m, "h1", rules.Config{IPVersion: v, FlowLogGroup: 1}) // flow logs' NFLOG rules too
		chains, inserts := nat.Chains(v)
		tab, err := Build(v, Input{IPVersion: v, Chains: res.Chains, Inserts: res.Inserts, IPSets: res.IPSets},
			Input{IPVersion: v, Chains: chains, Inserts: inserts})
		if err != nil {
			t.Fatal(err)
		}
		for name, rs := range tab.Chains {
			for _, r := range rs {
				for _, e := range Expand(r) {
					if _, err := Compile(v, name, e); err != nil {
						t.Errorf("IPv%d chain %s: %v", v, name, err)
					}
				}
			}
		}
		vmap := tab.Sets[rules.ChainFromDispatch].VMap
		if len(vmap) != 50 || vmap[rules.ScaleIface(7)] != rules.EndpointChain(rules.ScaleIface(7), true) {
			t.Errorf("IPv%d from-workload map has %d entries: %v", v, len(vmap), vmap[rules.ScaleIface(7)])
		}
		if got := tab.Chains[rules.ChainFromDispatch]; len(got) != 2 || got[1].Action != "DROP" {
			t.Errorf("IPv%d dispatch chain %v, want the map lookup then drop", v, got)
		}
		if len(tab.Hooks) != 4 {
			t.Errorf("IPv%d base chains %v, want forward, input, output, postrouting", v, tab.Hooks)
		}
	}
}

func TestBuildRefusesUnknownInserts(t *testing.T) {
	_, err := Build(4, Input{Inserts: map[string][]ipt.Rule{"PREROUTING": {{Action: "cali-x"}}}})
	if err == nil || !strings.Contains(err.Error(), "PREROUTING") {
		t.Fatalf("err %v, want one naming PREROUTING", err)
	}
}

func TestCompile(t *testing.T) {
	for _, tc := range []struct {
		v     int
		chain string // "": a policy chain
		rule  ipt.Rule
		want  []string // expression types in order
		err   string
	}{
		{4, "", ipt.Rule{Match: "-i cali+", Action: "ACCEPT"}, []string{"Meta", "Cmp", "Counter", "Verdict"}, ""},
		{4, "", ipt.Rule{Match: "-p tcp -m set --match-set cali40s:x src -m multiport --dports 80", Action: "MARK --set-xmark 0x10000/0x10000"},
			[]string{"Meta", "Cmp", "Payload", "Immediate", "Lookup", "Payload", "Cmp", "Meta", "Bitwise", "Meta", "Counter"}, ""},
		{6, "", ipt.Rule{Match: "-s fd00::/64 -m iprange ! --dst-range fd00::1-fd00::9", Action: "DROP"},
			[]string{"Payload", "Bitwise", "Cmp", "Payload", "Range", "Counter", "Verdict"}, ""},
		{4, "", ipt.Rule{Match: "-m mac ! --mac-source 02:00:00:00:00:01", Action: "DROP"}, []string{"Payload", "Cmp", "Counter", "Verdict"}, ""},
		{4, "", ipt.Rule{Match: "-i caliX -g cali-fw-caliX"}, []string{"Meta", "Cmp", "Counter", "Verdict"}, ""},
		{4, "", ipt.Rule{Action: `LOG --log-prefix "calico-packet: " --log-level 5`}, []string{"Log", "Counter"}, ""},
		{4, "", ipt.Rule{Match: "-m conntrack --ctstate RELATED,ESTABLISHED", Action: "ACCEPT"}, []string{"Ct", "Bitwise", "Cmp", "Counter", "Verdict"}, ""},
		{4, "", ipt.Rule{Match: "-m physdev --physdev-in x", Action: "DROP"}, nil, `unsupported match module "physdev"`},
		{4, "", ipt.Rule{Match: "-s fd00::/64", Action: "DROP"}, nil, "not IPv4"},
		{4, "", ipt.Rule{Match: "-m conntrack --ctstate NEW", Action: `NFLOG --nflog-group 1 --nflog-prefix "AI0|pro:net1"`},
			[]string{"Ct", "Bitwise", "Cmp", "Log", "Counter"}, ""},
		{4, "", ipt.Rule{Action: "NFLOG --nflog-group 1"}, nil, "NFLOG target"},
		{4, "", ipt.Rule{Match: "-s 10.0.0.0/8 -p tcp -m tcp --dport 22", Action: "ACCEPT"},
			[]string{"Payload", "Bitwise", "Cmp", "Meta", "Cmp", "Payload", "Cmp", "Counter", "Verdict"}, ""},
		{4, "", ipt.Rule{Action: "TPROXY --on-port 1"}, nil, "unsupported target"},
		// Plumbing counts only what accepts or drops.
		{4, "cali-tw-caliX", ipt.Rule{Match: "-m mark --mark 0x10000/0x10000", Action: "RETURN"}, []string{"Meta", "Bitwise", "Cmp", "Verdict"}, ""},
		{4, "cali-tw-caliX", ipt.Rule{Action: "MARK --set-xmark 0x0/0x30000"}, []string{"Meta", "Bitwise", "Meta"}, ""},
		{4, "cali-FORWARD", ipt.Rule{Match: "-i cali+", Action: "cali-from-wl-dispatch"}, []string{"Meta", "Cmp", "Verdict"}, ""},
		{4, "cali-tw-caliX", ipt.Rule{Action: "DROP"}, []string{"Counter", "Verdict"}, ""},
		{4, "raw-cali-PREROUTING", ipt.Rule{Match: "-i hep0", Action: "NOTRACK"}, []string{"Meta", "Cmp", "Notrack", "Counter"}, ""},
		{4, "cali-FORWARD", ipt.Rule{Match: "-m mark --mark 0x10000/0x10000", Action: "ACCEPT"}, []string{"Meta", "Bitwise", "Cmp", "Counter", "Verdict"}, ""},
		{4, "cali-pro-kns.x", ipt.Rule{Action: "MARK --set-xmark 0x10000/0x10000"}, []string{"Meta", "Bitwise", "Meta", "Counter"}, ""},
	} {
		chain := tc.chain
		if chain == "" {
			chain = "cali-pi-test"
		}
		exprs, err := Compile(tc.v, chain, tc.rule)
		checkCompiled(t, tc.rule, exprs, err, tc.want, tc.err)
	}
}

// checkCompiled checks one compiled rule: the error wantErr names (when
// not ""), else the expression types want. It reports whether the rule
// compiled as wanted.
func checkCompiled(t *testing.T, rule ipt.Rule, exprs []expr.Any, err error, want []string, wantErr string) bool {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%+v: err %v, want %q", rule, err, wantErr)
		}
		return false
	}
	if err != nil {
		t.Errorf("%+v: %v", rule, err)
		return false
	}
	if got := exprTypes(exprs); !slices.Equal(got, want) {
		t.Errorf("%+v:\n got %v\nwant %v", rule, got, want)
		return false
	}
	return true
}

// exprTypes names each expression's type: Meta, Cmp, Verdict, ...
func exprTypes(exprs []expr.Any) []string {
	out := make([]string, len(exprs))
	for i, e := range exprs {
		out[i] = strings.TrimPrefix(fmt.Sprintf("%T", e), "*expr.")
	}
	return out
}

func TestExpand(t *testing.T) {
	got := Expand(ipt.Rule{Match: "-p tcp -m multiport --sports 1,2 -m multiport --dports 80,90:99", Action: "DROP"})
	if len(got) != 4 || got[3].Match != "-p tcp -m multiport --sports 2 -m multiport --dports 90:99" {
		t.Fatalf("Expand = %v", got)
	}
	if got := Expand(ipt.Rule{Match: "-p tcp -m multiport ! --dports 80,90"}); len(got) != 1 {
		t.Fatalf("a negated list must stay one rule: %v", got)
	}
}

func TestIntervals(t *testing.T) {
	p := netip.MustParsePrefix
	got := Intervals(4, []netip.Prefix{p("10.1.2.0/24"), p("10.1.0.0/16"), p("10.2.0.1/32"), p("fd00::/64"), p("255.255.255.255/32")})
	want := []string{"10.1.0.0-10.2.0.0", "10.2.0.1-10.2.0.2", "255.255.255.255-invalid IP"}
	if len(got) != len(want) {
		t.Fatalf("Intervals = %v", got)
	}
	for i := range got {
		if got[i].Key() != want[i] {
			t.Errorf("interval %d = %s, want %s", i, got[i].Key(), want[i])
		}
	}
}

// FuzzCompile: no rule text makes Compile panic.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"-i cali+", "-p tcp -m multiport --dports 1:2", "-m set ! --match-set x dst", "! -p 7", "-m mark --mark 0x1/0x3", "-m icmp --icmp-type 8/0"} {
		f.Add(s, "DROP")
	}
	f.Fuzz(func(t *testing.T, match, action string) {
		_, _ = Compile(4, "cali-pi-x", ipt.Rule{Match: match, Action: action})
		_, _ = Compile(6, "cali-fw-x", ipt.Rule{Match: match, Action: action})
	})
}

// TestSetMatchKey: a set match looks up the table's SelectorSet with the
// packet's address in the first 32-bit registers and the set's number
// right after it (IPv4: one register, IPv6: four), negated for "!".
func TestSetMatchKey(t *testing.T) {
	for _, tc := range []struct {
		v       int
		match   string
		off     uint32
		idReg   uint32
		negated bool
	}{
		{4, "-m set --match-set cali40s:a src", 12, 9, false},
		{4, "-m set ! --match-set cali40s:a dst", 16, 9, true},
		{6, "-m set --match-set cali60s:a src", 8, 12, false},
		{6, "-m set ! --match-set cali60s:a dst", 24, 12, true},
	} {
		got, err := Compile(tc.v, "cali-pi-p", ipt.Rule{Match: tc.match, Action: "DROP"})
		if err != nil {
			t.Fatal(err)
		}
		name := strings.Fields(tc.match)[len(strings.Fields(tc.match))-2]
		id := SetID(SetName(name))
		p, ok1 := got[0].(*expr.Payload)
		imm, ok2 := got[1].(*expr.Immediate)
		l, ok3 := got[2].(*expr.Lookup)
		if !ok1 || !ok2 || !ok3 || p.DestRegister != 8 || p.Offset != tc.off || imm.Register != tc.idReg ||
			!bytes.Equal(imm.Data, id[:]) || l.SourceRegister != 8 || l.SetName != SelectorSet || l.Invert != tc.negated {
			t.Errorf("IPv%d %q: %v", tc.v, tc.match, got)
		}
	}
	if SetID("cali40s-a") == SetID("cali40s-b") {
		t.Error("SetID: two names, one number")
	}
	names := SetNames([]string{"cali40s:a", "cali40masq-ipam-pools"})
	if len(names) != 2 || names[SetID("cali40s-a")] != "cali40s-a" || names[SetID("cali40masq-ipam-pools")] != "cali40masq-ipam-pools" {
		t.Errorf("SetNames: %v", names)
	}
}
