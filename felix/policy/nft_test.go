package policy_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

// Inspection of the nftables dataplane's kernel state, for the tests that
// look inside the kernel (the iptables ones read iptables-save).

// nftConn opens an nftables netlink connection in n.
func nftConn(t testing.TB, n *felixtest.NS) *nftables.Conn {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(*n.NS.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func nftFamily(v int) nftables.TableFamily {
	if v == 6 {
		return nftables.TableFamilyIPv6
	}
	return nftables.TableFamilyIPv4
}

// nftOurChains lists the chains of our tables of IP version v: the main
// table and the shards of its family, and in egress mode the netdev
// to-workload shards of that version.
func nftOurChains(t testing.TB, n *felixtest.NS, v int) []*nftables.Chain {
	t.Helper()
	c := nftConn(t, n)
	chains, err := c.ListChainsOfTableFamily(nftFamily(v))
	if err != nil {
		t.Fatal(err)
	}
	netdev, err := c.ListChainsOfTableFamily(nftables.TableFamilyNetdev)
	if err != nil {
		t.Fatal(err)
	}
	var out []*nftables.Chain
	for _, ch := range chains {
		if ch.Table.Name == nftrules.TableName || nftrules.IsShardName(ch.Table.Name) {
			out = append(out, ch)
		}
	}
	for _, ch := range netdev {
		if tv, ok := nftrules.IsEgressShardName(ch.Table.Name); ok && tv == v {
			out = append(out, ch)
		}
	}
	return out
}

// nftTablesWith lists our IPv4 tables that hold a chain of that name.
func nftTablesWith(t testing.TB, n *felixtest.NS, chain string) []*nftables.Table {
	t.Helper()
	var out []*nftables.Table
	for _, ch := range nftOurChains(t, n, 4) {
		if ch.Name == chain {
			out = append(out, ch.Table)
		}
	}
	return out
}

// nftRules returns every rule of our table of IP version v, one line each:
// "<chain>:" then the kind of each expression (log, drop, jump X, ...).
func nftRules(t testing.TB, n *felixtest.NS, v int) []string {
	t.Helper()
	c := nftConn(t, n)
	var out []string
	for _, ch := range nftOurChains(t, n, v) {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			out = append(out, ch.Name+":"+describe(r.Exprs))
		}
	}
	return out
}

func describe(exprs []expr.Any) string {
	var b strings.Builder
	for _, e := range exprs {
		switch e := e.(type) {
		case *expr.Log:
			b.WriteString(" log")
		case *expr.Verdict:
			fmt.Fprintf(&b, " verdict(%d)%s", e.Kind, e.Chain)
		case *expr.Lookup:
			b.WriteString(" @" + e.SetName)
		case *expr.Counter:
			fmt.Fprintf(&b, " counter(%d)", e.Packets)
		}
	}
	return b.String()
}

// nftDropCount sums the packet counters of the drop rules of one chain of
// our IPv4 tables (every table holding it).
func nftDropCount(t testing.TB, n *felixtest.NS, chain string) int {
	t.Helper()
	c := nftConn(t, n)
	var rules []*nftables.Rule
	for _, table := range nftTablesWith(t, n, chain) {
		rs, err := c.GetRules(table, &nftables.Chain{Name: chain, Table: table})
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, rs...)
	}
	total := 0
	for _, r := range rules {
		var packets uint64
		drop := false
		for _, e := range r.Exprs {
			switch e := e.(type) {
			case *expr.Counter:
				packets = e.Packets
			case *expr.Verdict:
				drop = e.Kind == expr.VerdictDrop
			}
		}
		if drop {
			total += int(packets)
		}
	}
	return total
}

// nftTables lists the names ("ip calico", ...) of n's nftables tables.
func nftTables(t testing.TB, n *felixtest.NS) []string {
	t.Helper()
	tables, err := nftConn(t, n).ListTables()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tb := range tables {
		fam := map[nftables.TableFamily]string{nftables.TableFamilyIPv4: "ip", nftables.TableFamilyIPv6: "ip6", nftables.TableFamilyNetdev: "netdev"}[tb.Family]
		out = append(out, fam+" "+tb.Name)
	}
	return out
}

// nftChains lists the chains of our tables of IP version v (a chain held
// by two tables once).
func nftChains(t testing.TB, n *felixtest.NS, v int) []string {
	t.Helper()
	var out []string
	for _, ch := range nftOurChains(t, n, v) {
		if !slices.Contains(out, ch.Name) {
			out = append(out, ch.Name)
		}
	}
	return out
}

// nftCounter sums the packet counters of the rules of one chain of our
// IPv4 table that match, -1 when none does (or there is no such chain).
func (b *bed) nftCounter(chain string, match func(*nftables.Rule) bool) int {
	b.t.Helper()
	var rs []*nftables.Rule
	for _, table := range nftTablesWith(b.t, b.host, chain) {
		more, err := nftConn(b.t, b.host).GetRules(table, &nftables.Chain{Name: chain, Table: table})
		if err != nil {
			return -1
		}
		rs = append(rs, more...)
	}
	n := -1
	for _, r := range rs {
		if !match(r) {
			continue
		}
		n = max(n, 0)
		for _, e := range r.Exprs {
			if c, ok := e.(*expr.Counter); ok {
				n += int(c.Packets)
			}
		}
	}
	return n
}

// looksUp reports whether rule r matches address set set: a lookup in
// its table's selector set with the set's number beside the address.
func looksUp(r *nftables.Rule, set string) bool {
	id := nftrules.SetID(set)
	for i, e := range r.Exprs {
		l, ok := e.(*expr.Lookup)
		if !ok || l.SetName != nftrules.SelectorSet || i == 0 {
			continue
		}
		if imm, ok := r.Exprs[i-1].(*expr.Immediate); ok && bytes.Equal(imm.Data, id[:]) {
			return true
		}
	}
	return false
}
