package nft_test

import (
	"testing"

	"github.com/google/nftables"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
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

// ruleset sums up n's "ip calico" table: each chain's rule count and each
// set's element count (keys "set NAME").
func ruleset(t *testing.T, n *felixtest.NS) map[string]int {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(*n.NS.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	table := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "calico"}
	out := map[string]int{}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chains {
		if ch.Table.Name != table.Name {
			continue
		}
		rules, err := c.GetRules(table, ch)
		if err != nil {
			t.Fatal(err)
		}
		out[ch.Name] = len(rules)
	}
	sets, err := c.GetSets(table)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		elems, err := c.GetSetElements(s)
		if err != nil {
			t.Fatal(err)
		}
		out["set "+s.Name] = len(elems)
	}
	return out
}
