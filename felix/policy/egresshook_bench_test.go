package policy_test

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nft"
)

// BenchmarkEgressHookChains measures what the to-workload path of the
// netdev-egress design (docs/nftables.md, "the way past it") costs
// forwarded traffic: the stream of BenchmarkThroughputWithPolicies, with
// and without a netdev table of egress base chains holding the rules a
// to-workload chain starts with (the family check, the established mark,
// one policy rule that misses), in paired rounds; the first rule counts
// packets, and the bench checks that the receiver's chain saw the stream. Either
// CALICO_BENCH_EGRESS chains (default 1), one per interface, the first on
// the receiver's and the rest on interfaces that do not exist (the other
// endpoints of a shard), or, with CALICO_BENCH_WILDCARD=<prefix>, one
// chain hooked on every interface whose name starts with prefix (Linux
// 6.16's wildcard hooks; "calie" takes both workloads' interfaces, "xyz"
// none: the A/A control). It also reports how long adding the table took.
//
//	go test ./felix/policy -run '^$' -bench EgressHookChains -benchtime 1x
func BenchmarkEgressHookChains(b *testing.B) {
	k := felixtest.BenchInt(b, "CALICO_BENCH_EGRESS", 1, "a number of egress chains such as 625")
	prefix := os.Getenv("CALICO_BENCH_WILDCARD")
	bd, sink := newStreamBed(b, "nftables")
	recv := bd.wls["receiver"]
	nsFD := int(*bd.host.NS.Handle())
	c, err := nftables.New(nftables.WithNetNSFd(nsFD))
	if err != nil {
		b.Fatal(err)
	}
	drv, err := nft.New(nsFD, slog.Default()) // writes the prefix chain: google/nftables cannot
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = drv.Close() })
	table := &nftables.Table{Name: "bench-egress", Family: nftables.TableFamilyNetdev}
	flush := func() {
		if err := c.Flush(); err != nil {
			b.Fatalf("nftables: %v", err)
		}
	}
	var adds []float64
	on := func() {
		start := time.Now()
		set := &nftables.Set{Table: table, Name: "peers", KeyType: nftables.TypeIPAddr}
		if prefix != "" {
			if err := drv.AddEgressChain(table.Name, "tw", []string{prefix + "*"}); err != nil {
				b.Fatal(err)
			}
			_ = c.AddSet(set, []nftables.SetElement{{Key: []byte{10, 99, 0, 1}}})
			addEgressRules(c, &nftables.Chain{Name: "tw", Table: table}, set)
		} else {
			c.AddTable(table)
			_ = c.AddSet(set, []nftables.SetElement{{Key: []byte{10, 99, 0, 1}}})
			accept, prio := nftables.ChainPolicyAccept, nftables.ChainPriority(0)
			for i := range k {
				dev := recv.HostSide
				if i > 0 {
					dev = fmt.Sprintf("calin%010d", i)
				}
				addEgressRules(c, c.AddChain(&nftables.Chain{Name: fmt.Sprintf("tw%d", i), Table: table,
					Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookEgress, Priority: &prio,
					Policy: &accept, Device: dev}), set)
				if i%40 == 39 { // google/nftables reads an answer per message: keep batches small
					flush()
				}
			}
		}
		flush()
		adds = append(adds, float64(time.Since(start).Microseconds())/1000)
	}
	hooked := prefix == "" || strings.HasPrefix(recv.HostSide, prefix)
	off := func() {
		first := &nftables.Chain{Name: "tw", Table: table}
		if prefix == "" {
			first.Name = "tw0"
		}
		rules, err := c.GetRules(table, first)
		if err != nil || len(rules) == 0 {
			b.Fatalf("read back %s: %v", first.Name, err)
		}
		if n := rules[0].Exprs[0].(*expr.Counter).Packets; (n > 0) != hooked {
			b.Fatalf("the egress chain saw %d packets of the stream; want them seen: %v", n, hooked)
		}
		c.DelTable(table)
		flush()
	}
	b.Cleanup(func() { c.DelTable(table); _ = c.Flush() })
	unit := fmt.Sprintf("MB/s-with-%d-egress-chains", k)
	if prefix != "" {
		unit = "MB/s-with-a-" + prefix + "*-egress-chain"
	}
	bd.pairedRounds(b, sink, on, off, unit)
	b.ReportMetric(median(adds), "ms-to-add")
}

// addEgressRules queues on c the rules a to-workload egress chain starts
// with: accept what is not IPv4, accept what the main table marked
// established, then a policy rule (tcp 80 from a set) the stream misses.
func addEgressRules(c *nftables.Conn, ch *nftables.Chain, set *nftables.Set) {
	t := ch.Table
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
		&expr.Counter{}, // what the bench checks that the hook saw packets with
		&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.BigEndian.PutUint16(unix.ETH_P_IP)},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{0, 0, 0x10, 0}, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: felixtest.AcceptTCPFromSet(set, 80)})
}
