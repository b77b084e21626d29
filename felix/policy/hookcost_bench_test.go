package policy_test

import (
	"fmt"
	"testing"

	"github.com/google/nftables"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// BenchmarkForwardBaseChains measures what a base chain on the forward
// hook costs forwarded traffic: the stream of BenchmarkThroughputWithPolicies
// between two workloads, with k empty base chains (accept policy, no rule)
// added beside the dataplane's own and without them, in paired rounds.
// Every chain the nftables dataplane hooks on forward (the main table's
// and each workload shard's: docs/nftables.md) costs every forwarded
// packet this much whatever its rules. k is CALICO_BENCH_CHAINS
// (default 32: 16 shards of both directions, as before they were split).
//
//	go test ./felix/policy -run '^$' -bench ForwardBaseChains -benchtime 1x
func BenchmarkForwardBaseChains(b *testing.B) {
	k := felixtest.BenchInt(b, "CALICO_BENCH_CHAINS", 32, "a number of base chains such as 32")
	bd, sink := newStreamBed(b, "nftables")
	c, err := nftables.New(nftables.WithNetNSFd(int(*bd.host.NS.Handle())))
	if err != nil {
		b.Fatal(err)
	}
	// A table of our own: the dataplane owns and reconciles its tables.
	table := &nftables.Table{Name: "bench-forward-chains", Family: nftables.TableFamilyIPv4}
	flush := func() {
		if err := c.Flush(); err != nil {
			b.Fatalf("nftables: %v", err)
		}
	}
	on := func() {
		c.AddTable(table)
		accept := nftables.ChainPolicyAccept
		for i := range k {
			prio := nftables.ChainPriority(-4)
			c.AddChain(&nftables.Chain{Name: fmt.Sprintf("forward%d", i), Table: table,
				Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: &prio, Policy: &accept})
		}
		flush()
	}
	off := func() { c.DelTable(table); flush() }
	b.Cleanup(func() { c.DelTable(table); _ = c.Flush() })
	bd.pairedRounds(b, sink, on, off, fmt.Sprintf("MB/s-with-%d-chains", k))
}
