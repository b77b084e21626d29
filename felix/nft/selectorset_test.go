package nft_test

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

// selectorMembers reads the members of address set name from the
// selector sets of our IPv4 tables in n: "first-last" ranges, sorted.
func selectorMembers(t *testing.T, n *felixtest.NS, name string) []string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(*n.NS.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	id := nftrules.SetID(nftrules.SetName(name))
	var out []string
	for _, table := range tables {
		elems, err := c.GetSetElements(&nftables.Set{Table: table, Name: nftrules.SelectorSet, Interval: true, Concatenation: true,
			KeyType: nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInteger, nftables.TypeInteger)})
		if err != nil {
			t.Fatalf("table %s: %v", table.Name, err)
		}
		for _, e := range elems {
			if len(e.Key) == 12 && bytes.Equal(e.Key[4:], id[:]) {
				first, _ := netip.AddrFromSlice(e.Key[:4])
				last, _ := netip.AddrFromSlice(e.KeyEnd[:4])
				out = append(out, first.String()+"-"+last.String())
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestSelectorSet: the members of a table's address sets are elements of
// its one selector set, each an address range with its set's number:
// nested prefixes as one range, adjacent ones as theirs, a range to the
// last address. A fresh driver reads them back and sends nothing; a
// member gone or come changes only that set's elements; a set no rule
// uses any more leaves the selector set; and a table holding address
// sets of their own (written before the selector set) has them deleted.
func TestSelectorSet(t *testing.T) {
	d, host := newDriver(t)
	// A table as an older build wrote it: a set of its own and a rule
	// looking it up.
	old := &nftables.Table{Name: nftrules.TableName, Family: nftables.TableFamilyIPv4}
	err := d.CommitRaw(func(c *nftables.Conn) {
		c.AddTable(old)
		set := &nftables.Set{Table: old, Name: "cali40s-old", KeyType: nftables.TypeIPAddr, Interval: true}
		_ = c.AddSet(set, []nftables.SetElement{{Key: []byte{10, 9, 0, 0}}, {Key: []byte{10, 10, 0, 0}, IntervalEnd: true}})
		chain := c.AddChain(&nftables.Chain{Name: "cali-old", Table: old})
		c.AddRule(&nftables.Rule{Table: old, Chain: chain, Exprs: []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: set.Name},
			&expr.Verdict{Kind: expr.VerdictDrop}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string][]netip.Prefix{
		"cali40s:nets": {netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.1.2.0/24"),
			netip.MustParsePrefix("10.2.0.0/31"), netip.MustParsePrefix("10.2.0.2/32")},
		"cali40s:top": {netip.MustParsePrefix("255.255.255.0/24")},
	}
	uses := []ipt.Rule{{Match: "-m set --match-set cali40s:nets src", Action: "DROP"},
		{Match: "-m set ! --match-set cali40s:top dst", Action: "DROP"}}
	want := map[int]*nftrules.Table{4: scaleTable(t, 20, sets, uses...)}
	d = driverIn(t, host) // reads the old table back
	if err := d.Apply(want, true, false); err != nil {
		t.Fatal(err)
	}
	check := func(name string, want ...string) {
		t.Helper()
		if got := selectorMembers(t, host, name); !slices.Equal(got, want) {
			t.Errorf("members of %s: %v, want %v", name, got, want)
		}
	}
	check("cali40s:nets", "10.1.0.0-10.1.255.255", "10.2.0.0-10.2.0.1", "10.2.0.2-10.2.0.2")
	check("cali40s:top", "255.255.255.0-255.255.255.255")
	if got := ruleset(t, host); got["calico set cali40s-old"] != 0 || got["calico/cali-old"] != 0 {
		t.Errorf("the older build's set or chain is left: %v", got)
	}
	if d2 := driverIn(t, host); d2.Apply(want, true, false) != nil || d2.Sent() != 0 {
		t.Errorf("a fresh driver's full apply sent %d messages, want none", d2.Sent())
	}

	sets["cali40s:nets"] = []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.3.0.0/24")}
	before := selectorMembers(t, host, "cali40s:top")
	if err := d.Apply(map[int]*nftrules.Table{4: scaleTable(t, 20, sets, uses...)}, true, false); err != nil {
		t.Fatal(err)
	}
	check("cali40s:nets", "10.1.0.0-10.1.255.255", "10.3.0.0-10.3.0.255")
	check("cali40s:top", before...)
	if d.Rewrites() != 0 {
		t.Errorf("a change of members rewrote %d chains", d.Rewrites())
	}

	if err := d.Apply(map[int]*nftrules.Table{4: scaleTable(t, 20, sets)}, true, false); err != nil {
		t.Fatal(err)
	}
	check("cali40s:nets")
	check("cali40s:top")
	for i := range 20 {
		if got := selectorMembers(t, host, fmt.Sprintf("cali40s:%s", scaleSetOf(t, i))); len(got) == 0 {
			t.Errorf("scale set %d lost its members", i)
		}
	}
}

// scaleSetOf returns the name (after "cali40s:") of a set the scale
// table's policies match on, the i-th of them in name order.
func scaleSetOf(t *testing.T, i int) string {
	t.Helper()
	tab := scaleTable(t, 20, nil)
	var names []string
	for name, s := range tab.Sets {
		if !s.IsVMap() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if i >= len(names) {
		t.Fatalf("%d address sets: %v", len(names), slices.Collect(maps.Keys(tab.Sets)))
	}
	return names[i][len("cali40s-"):]
}

// TestSelectorSetsProbe: this kernel takes the selector set, and the
// probe that says so leaves no table behind.
func TestSelectorSetsProbe(t *testing.T) {
	d, host := newDriver(t)
	if err := d.SelectorSets(); err != nil {
		t.Fatal(err)
	}
	if got := nftTables(t, host); len(got) != 0 {
		t.Errorf("the probe left tables: %v", got)
	}
}
