package nft_test

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// egressTable is scaleTable laid out in egress mode.
func egressTable(t *testing.T, n int) *nftrules.Table { return egressTableOf(t, 4, n) }

// egressTableOf is egressTable for IP version v.
func egressTableOf(t *testing.T, v, n int) *nftrules.Table {
	t.Helper()
	m, err := rules.ScaleModel(n, n)
	if err != nil {
		t.Fatal(err)
	}
	res := rules.Render(m, "h1", rules.Config{IPVersion: v})
	tab, err := nftrules.BuildWith(nftrules.Options{Egress: true}, v,
		nftrules.Input{IPVersion: v, Chains: res.Chains, Inserts: res.Inserts, IPSets: res.IPSets})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestEgressShardsBothVersions: with IPv6 on, both versions' to-workload
// shards are netdev tables; a full resync reads them back with one dump
// of the netdev family's chains (it holds both versions'), not one per
// version, and a fresh driver rewrites nothing.
func TestEgressShardsBothVersions(t *testing.T) {
	d, host := newDriver(t)
	want := map[int]*nftrules.Table{4: egressTableOf(t, 4, 100), 6: egressTableOf(t, 6, 100)}
	for _, tab := range want {
		tab.ShardSize = 64
	}
	if err := d.Apply(want, true, false); err != nil {
		t.Fatal(err)
	}
	var v6 int
	for _, name := range nftTables(t, host) {
		if strings.HasPrefix(name, "calico-v6-to") {
			v6++
		}
	}
	if v6 == 0 {
		t.Fatalf("no IPv6 netdev shard among %v", nftTables(t, host))
	}
	// The listing (calicoctl node diags) shows both versions' tables, the
	// netdev shards' hooks among them.
	var b strings.Builder
	if err := d.List(&b, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\ntable ip6 calico\n", "\ntable netdev calico-v6-to0\n", "  chain wl-egress-to  hook egress devices cali",
		"\ntable netdev calico-v4-to0\n", "\ntable ip6 calico-wl0\n", "  set cali-sel  "} {
		if !strings.Contains("\n"+b.String(), want) {
			t.Errorf("the listing lacks %q:\n%s", want, b.String())
		}
	}
	d2 := driverIn(t, host)
	before := d2.NetdevDumps()
	if err := d2.Apply(want, true, false); err != nil || d2.Rewrites() != 0 {
		t.Errorf("a fresh driver rewrote %d chains (err %v), want 0", d2.Rewrites(), err)
	}
	if n := d2.NetdevDumps() - before; n != 1 {
		t.Errorf("a full resync of both versions dumped the netdev chains %d times, want 1", n)
	}
}

// TestEgressShards: the kernel (6.16 or later) hooks interfaces' egress
// by name prefix, and the probe that says so leaves nothing. In egress
// mode the to-workload shards are netdev tables with one egress base
// chain each, whatever their count; a fresh driver reads their hooks'
// devices back and rewrites nothing; an interface of another name adds
// a hook (the chain re-created) and takes it away again.
func TestEgressShards(t *testing.T) {
	d, host := newDriver(t)
	ok, err := d.EgressHooks()
	if err != nil || !ok {
		t.Fatalf("egress hooks by prefix: %v, %v (this kernel has them: 6.16 or later)", ok, err)
	}
	if tables := nftTables(t, host); len(tables) != 0 {
		t.Fatalf("the probe left tables: %v", tables)
	}
	fresh := func(what string, want map[int]*nftrules.Table) {
		t.Helper()
		d2 := driverIn(t, host)
		if err := d2.Apply(want, true, false); err != nil || d2.Rewrites() != 0 {
			t.Errorf("%s: a fresh driver rewrote %d chains (err %v), want 0", what, d2.Rewrites(), err)
		}
	}
	var tab *nftrules.Table
	for _, n := range []int{100, 600, 100} {
		tab = egressTable(t, n)
		tab.ShardSize = 64 // 100: 1 from + 2 to shards; 600: 4 from + 16 to
		want := map[int]*nftrules.Table{4: tab}
		if err := d.Apply(want, false, false); err != nil {
			t.Fatal(err)
		}
		wantHooks := partHooks(tab)
		for _, p := range tab.Parts() {
			if p.Netdev != strings.HasPrefix(p.Name, "calico-v4-to") {
				t.Errorf("part %s: netdev %v", p.Name, p.Netdev)
			}
		}
		if got := baseChains(t, host); !maps.EqualFunc(got, wantHooks, slices.Equal) {
			t.Errorf("%d endpoints: base chains %v, want %v", n, got, wantHooks)
		}
		fresh("egress shards", want)
	}
	// Another name: its own prefix hook, on its shard's chain.
	dispatch := func(extra ...string) {
		rs := tab.Chains[rules.ChainToDispatch][1:] // the drop of unknown interfaces
		var entries []ipt.Rule
		for i := range 100 {
			iface := rules.ScaleIface(i)
			entries = append(entries, ipt.Rule{Match: "-o " + iface + " -g " + rules.EndpointChain(iface, false)})
		}
		for _, iface := range extra {
			entries = append(entries, ipt.Rule{Match: "-o " + iface + " -g " + rules.EndpointChain(rules.ScaleIface(0), false)})
		}
		tab.SetChain(ipt.Chain{Name: rules.ChainToDispatch, Rules: append(entries, rs...)})
	}
	want := map[int]*nftrules.Table{4: tab}
	before := ruleset(t, host)
	dispatch("caliZoo", "tap7")
	if err := d.Apply(want, false, false); err != nil {
		t.Fatal(err)
	}
	if d.Rewrites() == 0 {
		t.Error("new hook devices rewrote no chain")
	}
	fresh("other names", want)
	dispatch()
	if err := d.Apply(want, false, false); err != nil {
		t.Fatal(err)
	}
	fresh("other names gone", want)
	if after := ruleset(t, host); !maps.Equal(before, after) {
		t.Errorf("with the other names gone, the tables differ from before")
	}
	// More names without the prefix than a hook takes: a clear error, and
	// nothing changed.
	var many []string
	for i := range 300 {
		many = append(many, "tap"+strconv.Itoa(i))
	}
	tab.ShardSize = 1 << 20 // one to-workload shard: 16 prefixes and 300 names
	dispatch(many...)
	err = d.Apply(want, false, false)
	if err == nil || !strings.Contains(err.Error(), "at most 256") || !strings.Contains(err.Error(), "nftables_forward_hook") {
		t.Errorf("300 names without the prefix: %v", err)
	}
	if after := ruleset(t, host); !maps.Equal(before, after) {
		t.Errorf("the failed apply changed the tables")
	}
}

// TestLayoutSwitch: a host restarted from one layout into the other (the
// setting changed, or a kernel upgrade brought prefix hooks) converges in
// one apply of the new daemon and keeps no table of the old layout.
func TestLayoutSwitch(t *testing.T) {
	_, host := newDriver(t)
	for _, egress := range []bool{false, true, false} {
		tab := scaleTable(t, 600, nil)
		if egress {
			tab = egressTable(t, 600)
		}
		tab.ShardSize = 64
		d := driverIn(t, host) // a restarted daemon's
		if err := d.Apply(map[int]*nftrules.Table{4: tab}, true, false); err != nil {
			t.Fatal(err)
		}
		want := partHooks(tab)
		if got := baseChains(t, host); !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("egress %v: base chains %v, want %v", egress, got, want)
		}
		tables := nftTables(t, host)
		slices.Sort(tables)
		if wantTables := slices.Sorted(maps.Keys(want)); !slices.Equal(tables, wantTables) {
			t.Errorf("egress %v: tables %v, want %v", egress, tables, wantTables)
		}
	}
}
