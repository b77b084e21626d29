package nft_test

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nft"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

// BenchmarkStartOfDayFloor compares, in one run, our driver writing the
// table of rules.ScaleModel(n, n) into an empty namespace ("ours": compile,
// encode and the kernel's commit of one transaction) with the smallest
// transaction an nftables dataplane could write for the same policy
// ("floor-<k>": written through the same transport, one datagram, one
// answer): per policy one set of one member and one chain of one rule
// (`meta l4proto tcp ip saddr @s tcp dport 80 accept`), per endpoint one
// verdict-map element sending its packets to its policy's chain, spread
// over tables of at most k policies (the kernel finds a set by walking its
// table's sets), each with a base chain and its verdict map. No
// anti-spoofing, no tiers, profiles or default drops, no counters: what is
// left is the kernel's cost per set, chain and rule. n is
// CALICO_BENCH_SCALE (default 1000).
//
// "shared-<k>" and "shared-interval-<k>" are the same policy without a set
// per policy: each table has one set of (address . policy number) pairs,
// and a policy's rule looks its source up in it with its own number
// beside it (`ip saddr . 7 @sel`): the kernel finds a set by walking its
// table's sets, and a set costs more than its element. "shared-interval"
// is that set as an interval set, which address prefixes would need. These
// are the lower bound for a start of day in one transaction.
func BenchmarkStartOfDayFloor(b *testing.B) {
	n := felixtest.BenchScale(b)
	host := felixtest.NewNS(b, "nftf")
	fd := int(*host.NS.Handle())
	for _, per := range []int{n, 625, 256} {
		if per > n || (per == n && n > 1000) {
			continue // one table of 10,000 sets: seconds of set lookups, no floor
		}
		b.Run(fmt.Sprintf("floor-%d", per), func(b *testing.B) {
			benchCommits(b, fd, func(c *nftables.Conn) (tables []*nftables.Table) {
				for first := 0; first < n; first += per {
					t := floorTable(len(tables))
					writeFloor(c, t, first, min(first+per, n))
					tables = append(tables, t)
				}
				return tables
			})
		})
	}
	for _, interval := range []bool{false, true} {
		name := "shared-625"
		if interval {
			name = "shared-interval-625"
		}
		b.Run(name, func(b *testing.B) {
			benchCommits(b, fd, func(c *nftables.Conn) (tables []*nftables.Table) {
				for first := 0; first < n; first += 625 {
					t := floorTable(len(tables))
					writeFloorShared(c, t, first, min(first+625, n), interval)
					tables = append(tables, t)
				}
				return tables
			})
		})
	}
	b.Run("ours", func(b *testing.B) {
		b.StopTimer()
		desired := map[int]*nftrules.Table{4: scaleTable(b, n, nil)}
		for range b.N {
			d, err := nft.New(fd, slog.Default())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := d.Apply(desired, true, false); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := d.Apply(map[int]*nftrules.Table{}, true, false); err != nil {
				b.Fatal(err)
			}
			_ = d.Close()
		}
	})
}

func floorTable(i int) *nftables.Table {
	return &nftables.Table{Name: fmt.Sprintf("floor%d", i), Family: nftables.TableFamilyIPv4}
}

// benchCommits times, b.N times on a driver in namespace fd, the one
// transaction write queues, then deletes the tables write says it added,
// untimed.
func benchCommits(b *testing.B, fd int, write func(c *nftables.Conn) []*nftables.Table) {
	d, err := nft.New(fd, slog.Default())
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	for range b.N {
		var tables []*nftables.Table
		if err := d.CommitRaw(func(c *nftables.Conn) { tables = write(c) }); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		err := d.CommitRaw(func(c *nftables.Conn) {
			for _, t := range tables {
				c.DelTable(t)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// forwardTable queues table with its forward base chain (policy accept),
// which it returns.
func forwardTable(c *nftables.Conn, table *nftables.Table) *nftables.Chain {
	c.AddTable(table)
	accept := nftables.ChainPolicyAccept
	return c.AddChain(&nftables.Chain{Name: "forward", Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
}

// addDispatch queues table's dispatch map (ifname : verdict) with elems
// and base's rule looking packets up in it.
func addDispatch(c *nftables.Conn, table *nftables.Table, base *nftables.Chain, elems []nftables.SetElement) {
	dispatch := &nftables.Set{Table: table, Name: "dispatch", KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict, IsMap: true}
	_ = c.AddSet(dispatch, nil)
	addFloorElements(c, dispatch, elems)
	c.AddRule(&nftables.Rule{Table: table, Chain: base, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Lookup{SourceRegister: 1, SetName: dispatch.Name, SetID: dispatch.ID, IsDestRegSet: true},
	}})
}

// ifnameKey is the dispatch key of scale endpoint i's interface name
// (NUL padded).
func ifnameKey(i int) []byte {
	name := make([]byte, 16)
	copy(name, fmt.Sprintf("cali%011d", i))
	return name
}

// writeFloor queues on c BenchmarkStartOfDayFloor's table for policies
// and endpoints [first, last).
func writeFloor(c *nftables.Conn, table *nftables.Table, first, last int) {
	base := forwardTable(c, table)
	elems := make([]nftables.SetElement, 0, last-first)
	for i := first; i < last; i++ {
		set := &nftables.Set{Table: table, Name: fmt.Sprintf("s%d", i), KeyType: nftables.TypeIPAddr}
		_ = c.AddSet(set, []nftables.SetElement{{Key: []byte{10, byte(i >> 16), byte(i >> 8), byte(i)}}})
		chain := c.AddChain(&nftables.Chain{Name: fmt.Sprintf("p%d", i), Table: table})
		c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: felixtest.AcceptTCPFromSet(set, 80)})
		elems = append(elems, nftables.SetElement{Key: ifnameKey(i),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: chain.Name}})
	}
	addDispatch(c, table, base, elems)
}

// writeFloorShared is writeFloor with one set of (address . policy
// number) pairs for the table's policies, an interval set if interval
// (each pair a range of one).
func writeFloorShared(c *nftables.Conn, table *nftables.Table, first, last int, interval bool) {
	base := forwardTable(c, table)
	sel := &nftables.Set{Table: table, Name: "sel", KeyType: nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInteger),
		Concatenation: true, Interval: interval}
	_ = c.AddSet(sel, nil)
	elems := make([]nftables.SetElement, 0, last-first)
	members := make([]nftables.SetElement, 0, last-first)
	for i := first; i < last; i++ {
		id := binary.BigEndian.AppendUint32(nil, uint32(i))
		key := append([]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, id...)
		m := nftables.SetElement{Key: key}
		if interval {
			m.KeyEnd = key
		}
		members = append(members, m)
		chain := c.AddChain(&nftables.Chain{Name: fmt.Sprintf("p%d", i), Table: table})
		c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
			// The key in 32-bit registers 0 and 1 (netlink numbers 8, 9).
			&expr.Payload{DestRegister: 8, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Immediate{Register: 9, Data: id},
			&expr.Lookup{SourceRegister: 8, SetName: sel.Name, SetID: sel.ID},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 80}},
			&expr.Verdict{Kind: expr.VerdictAccept},
		}})
		elems = append(elems, nftables.SetElement{Key: ifnameKey(i),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: chain.Name}})
	}
	addFloorElements(c, sel, members)
	addDispatch(c, table, base, elems)
}

// addFloorElements queues elems of set s in messages of at most 500 (a
// netlink attribute holds at most 64 KiB).
func addFloorElements(c *nftables.Conn, s *nftables.Set, elems []nftables.SetElement) {
	for len(elems) > 0 {
		k := min(len(elems), 500)
		_ = c.SetAddElements(s, elems[:k])
		elems = elems[k:]
	}
}
