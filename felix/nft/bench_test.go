package nft_test

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nft"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// BenchmarkChainRewrite is the kernel's share of one policy change: one
// policy chain rewritten (the delta path: the table patched, one
// transaction of a flush and its rules) in our table holding
// rules.ScaleModel(n, n), for growing n. A cost that grows with n while
// the transaction stays the same size is the kernel's commit (it
// validates the table's whole jump graph), not ours.
func BenchmarkChainRewrite(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("%dx%d", n, n), func(b *testing.B) {
			m, err := rules.ScaleModel(n, n)
			if err != nil {
				b.Fatal(err)
			}
			res := rules.Render(m, "h1", rules.Config{IPVersion: 4})
			tab, err := nftrules.Build(4, nftrules.Input{IPVersion: 4, Chains: res.Chains, Inserts: res.Inserts, IPSets: res.IPSets})
			if err != nil {
				b.Fatal(err)
			}
			host := felixtest.NewNS(b, "nftb")
			d, err := nft.New(int(*host.NS.Handle()), slog.Default())
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			desired := map[int]*nftrules.Table{4: tab}
			if err := d.Apply(desired, true, false); err != nil {
				b.Fatal(err)
			}
			chain := rules.PolicyChain("GlobalNetworkPolicy/p0", true)
			if _, ok := tab.Chains[chain]; !ok {
				chain = ""
				for name := range tab.Chains {
					if len(name) > 8 && name[:8] == "cali-pi-" {
						chain = name
						break
					}
				}
			}
			b.ResetTimer()
			for i := range b.N {
				tab.SetChain(iptables.Chain{Name: chain, Rules: []iptables.Rule{
					{Match: fmt.Sprintf("-p tcp -m multiport --dports %d", 1000+i%1000), Action: fmt.Sprintf("MARK --set-xmark %#x/%#x", rules.MarkAccept, rules.MarkAccept)},
					{Match: fmt.Sprintf("-m mark --mark %#x/%#x", rules.MarkAccept, rules.MarkAccept), Action: "RETURN"},
				}})
				if err := d.Apply(desired, false, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
