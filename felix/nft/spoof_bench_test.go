package nft_test

import (
	"fmt"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// BenchmarkAntiSpoofLayout compares two ways of writing the anti-spoofing
// of n endpoints, spread over four tables as the from-workload shards of a
// 10,000-endpoint host are, into an empty namespace in one transaction:
//
//   - "chains", as felix/rules renders it today: per endpoint a chain of
//     two rules (its source address goes to the shared egress chain, the
//     rest is dropped) and a dispatch-map element leading to that chain;
//   - "concat-map": per endpoint an element of a map keyed by interface
//     and source address (`iifname . ip saddr vmap @src`) going to the
//     shared egress chain, and its dispatch-map element a drop (what the
//     lookup did not send on is spoofed).
//
// No MAC check (the scale model's endpoints have none; the Docker
// driver's do, which would be a third key field). n is
// CALICO_BENCH_SCALE (default 1000).
func BenchmarkAntiSpoofLayout(b *testing.B) {
	n := felixtest.BenchScale(b)
	host := felixtest.NewNS(b, "nfts")
	fd := int(*host.NS.Handle())
	const count = 4 // tables
	table := func(i int) *nftables.Table {
		return &nftables.Table{Name: fmt.Sprintf("spoof%d", i), Family: nftables.TableFamilyIPv4}
	}
	for _, layout := range []string{"chains", "concat-map"} {
		b.Run(layout, func(b *testing.B) {
			benchCommits(b, fd, func(c *nftables.Conn) (tables []*nftables.Table) {
				for i := range count {
					t := table(i)
					writeSpoofing(c, t, layout == "concat-map", i*n/count, (i+1)*n/count)
					tables = append(tables, t)
				}
				return tables
			})
		})
	}
}

// writeSpoofing queues on c BenchmarkAntiSpoofLayout's table for
// endpoints [first, last).
func writeSpoofing(c *nftables.Conn, table *nftables.Table, concat bool, first, last int) {
	base := forwardTable(c, table)
	egress := c.AddChain(&nftables.Chain{Name: "egress", Table: table})
	c.AddRule(&nftables.Rule{Table: table, Chain: egress, Exprs: []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}})
	src := &nftables.Set{Table: table, Name: "src", KeyType: nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIPAddr),
		DataType: nftables.TypeVerdict, IsMap: true, Concatenation: true}
	var elems, srcElems []nftables.SetElement
	for i := first; i < last; i++ {
		name := ifnameKey(i)
		addr := []byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		if !concat {
			chain := c.AddChain(&nftables.Chain{Name: fmt.Sprintf("fw-%d", i), Table: table})
			c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr},
				&expr.Verdict{Kind: expr.VerdictGoto, Chain: egress.Name}}})
			c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop}}})
			elems = append(elems, nftables.SetElement{Key: name, VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: chain.Name}})
			continue
		}
		elems = append(elems, nftables.SetElement{Key: name, VerdictData: &expr.Verdict{Kind: expr.VerdictDrop}})
		srcElems = append(srcElems, nftables.SetElement{Key: append(name, addr...),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: egress.Name}})
	}
	if concat {
		_ = c.AddSet(src, nil)
		addFloorElements(c, src, srcElems)
		c.AddRule(&nftables.Rule{Table: table, Chain: base, Exprs: []expr.Any{
			// The key in 32-bit registers 0-4 (netlink numbers 8-12).
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 8},
			&expr.Payload{DestRegister: 12, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Lookup{SourceRegister: 8, SetName: src.Name, SetID: src.ID, IsDestRegSet: true},
		}})
	}
	addDispatch(c, table, base, elems)
}
