package nft_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

// nftTables lists n's nftables tables by name.
func nftTables(t *testing.T, n *felixtest.NS) []string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(*n.NS.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tb := range tables {
		out = append(out, tb.Name)
	}
	return out
}

// ourChains lists the chains of n's IPv4 and netdev tables named
// calico* (the netdev ones: egress mode's to-workload shards).
func ourChains(t *testing.T, c *nftables.Conn) []*nftables.Chain {
	t.Helper()
	var out []*nftables.Chain
	for _, f := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyNetdev} {
		chains, err := c.ListChainsOfTableFamily(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range chains {
			if strings.HasPrefix(ch.Table.Name, "calico") {
				out = append(out, ch)
			}
		}
	}
	return out
}

// ruleset sums up n's IPv4 and netdev tables named calico*: each chain's
// rule count and each set's element count (keys "TABLE/CHAIN", "TABLE set
// NAME").
func ruleset(t *testing.T, n *felixtest.NS) map[string]int {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(*n.NS.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	chains := ourChains(t, c)
	tables := map[string]*nftables.Table{}
	for _, ch := range chains {
		if !strings.HasPrefix(ch.Table.Name, "calico") {
			continue
		}
		tables[ch.Table.Name] = ch.Table
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatal(err)
		}
		out[ch.Table.Name+"/"+ch.Name] = len(rules)
	}
	for name, table := range tables {
		sets, err := c.GetSets(table)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sets {
			elems, err := c.GetSetElements(s)
			if err != nil {
				t.Fatal(err)
			}
			out[name+" set "+s.Name] = len(elems)
		}
	}
	return out
}

// partHooks returns the base chains tab's parts should have, by table,
// sorted (baseChains' form).
func partHooks(tab *nftrules.Table) map[string][]string {
	out := map[string][]string{}
	for _, p := range tab.Parts() {
		for _, h := range p.Hooks {
			out[p.Name] = append(out[p.Name], h.Name)
		}
		slices.Sort(out[p.Name])
	}
	return out
}

// baseChains returns the base chains of our IPv4 and netdev tables in n,
// by table, sorted.
func baseChains(t *testing.T, n *felixtest.NS) map[string][]string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(*n.NS.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, ch := range ourChains(t, c) {
		if ch.Hooknum != nil {
			out[ch.Table.Name] = append(out[ch.Table.Name], ch.Name)
		}
	}
	for _, names := range out {
		slices.Sort(names)
	}
	return out
}
