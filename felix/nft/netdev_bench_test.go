package nft_test

import (
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nft"
)

// BenchmarkNetdevChains measures what the netdev-egress design of
// docs/nftables.md ("the way past it") would add to a start of day: one
// transaction adding n chains in tables of 625 (the shards' size at
// 10,000 endpoints), each chain with one rule jumping to a regular chain
// of one rule, where the n chains are regular chains a verdict map
// reaches (today's to-workload dispatch: "regular") or netdev egress base
// chains, one per interface ("netdev-egress"); the difference is what
// registering n hooks costs the kernel's commit. "netdev-prefix" adds
// instead 16 netdev tables of one egress chain each, hooked on every
// interface whose name starts with its prefix (cali0 … calif), and no
// rules: what hooking n interfaces through prefixes costs. n is
// CALICO_BENCH_SCALE (default 1000); with CALICO_BENCH_DEVICES set, the n
// interfaces exist (veths: this kernel has no dummy driver), else they
// are only named (this kernel accepts that).
//
//	go test ./felix/nft -run '^$' -bench NetdevChains -benchtime 3x
func BenchmarkNetdevChains(b *testing.B) {
	n := felixtest.BenchScale(b)
	host := felixtest.NewNS(b, "nftn")
	fd := int(*host.NS.Handle())
	if os.Getenv("CALICO_BENCH_DEVICES") != "" {
		// The interfaces exist, as on a host: each netdev chain then
		// registers a hook on its device at the commit.
		for i := range n {
			d := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: devName(i)}, PeerName: fmt.Sprintf("peer%011d", i)}
			if err := host.NL.LinkAdd(d); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, mode := range []string{"regular", "netdev-egress", "netdev-prefix"} {
		name, netdev, prefix := mode, mode != "regular", mode == "netdev-prefix"
		b.Run(name, func(b *testing.B) {
			d, err := nft.New(fd, slog.Default())
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			const per = 625
			var tables []*nftables.Table
			for first := 0; first < n; first += per {
				family := nftables.TableFamilyIPv4
				if netdev {
					family = nftables.TableFamilyNetdev
				}
				tables = append(tables, &nftables.Table{Name: fmt.Sprintf("chains%d", len(tables)), Family: family})
			}
			for range b.N {
				if prefix {
					// One chain per prefix, each hooked on every existing
					// interface it names (a table a transaction).
					for i := range 16 {
						err := d.AddEgressChain(fmt.Sprintf("prefix%x", i), "tw", []string{fmt.Sprintf("cali%x*", i)})
						if err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					err := d.CommitRaw(func(c *nftables.Conn) {
						for i := range 16 {
							c.DelTable(&nftables.Table{Name: fmt.Sprintf("prefix%x", i), Family: nftables.TableFamilyNetdev})
						}
					})
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					continue
				}
				err := d.CommitRaw(func(c *nftables.Conn) {
					for i, t := range tables {
						writeChains(c, t, netdev, i*per, min((i+1)*per, n))
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				err = d.CommitRaw(func(c *nftables.Conn) {
					for _, t := range tables {
						c.DelTable(t)
					}
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// devName is interface i of BenchmarkNetdevChains: its fifth character
// (a hex digit, as in Calico's names) says which of 16 prefixes takes it.
func devName(i int) string { return fmt.Sprintf("cali%x%010d", i%16, i) }

// writeChains queues on c the chains [first, last) of
// BenchmarkNetdevChains in table t.
func writeChains(c *nftables.Conn, t *nftables.Table, netdev bool, first, last int) {
	c.AddTable(t)
	accept := nftables.ChainPolicyAccept
	var elems []nftables.SetElement
	for i := first; i < last; i++ {
		target := c.AddChain(&nftables.Chain{Name: fmt.Sprintf("p%d", i), Table: t})
		c.AddRule(&nftables.Rule{Table: t, Chain: target, Exprs: []expr.Any{
			&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}})
		ifname := devName(i)
		ch := &nftables.Chain{Name: "tw-" + ifname, Table: t}
		if netdev {
			prio := nftables.ChainPriority(0)
			ch.Type, ch.Hooknum, ch.Priority, ch.Policy, ch.Device =
				nftables.ChainTypeFilter, nftables.ChainHookEgress, &prio, &accept, ifname
		}
		c.AddChain(ch)
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
			&expr.Verdict{Kind: expr.VerdictJump, Chain: target.Name}}})
		key := make([]byte, 16)
		copy(key, ifname)
		elems = append(elems, nftables.SetElement{Key: key,
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: ch.Name}})
	}
	if netdev {
		return
	}
	// Today's dispatch: one base chain looking the interface up in a map.
	base := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	dispatch := &nftables.Set{Table: t, Name: "dispatch", KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict, IsMap: true}
	_ = c.AddSet(dispatch, elems)
	c.AddRule(&nftables.Rule{Table: t, Chain: base, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: dispatch.Name, SetID: dispatch.ID, IsDestRegSet: true},
	}})
}
