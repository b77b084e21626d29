package policy_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/policy"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
)

// BenchmarkPolicyChangeRender is the CPU share of one policy change at
// n endpoints × n policies (1k and 10k) before any kernel work: the
// Calculator's incremental render; the same plus the nftables table
// patched with its delta (what the nftables dataplane does: nft-patch);
// and, as the baseline, every chain rendered from scratch and the whole
// nftables table built from that (the path before the incremental
// render: scratch+nft-build); and the incremental render with flow logs
// on (the daemon's default: verdict rules name their rule for the NFLOG
// reader): render+flowlogs. No root.
func BenchmarkPolicyChangeRender(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		flows := startOfDayRenderWith(b, n, policy.Config{NodeName: "h1", IPVersions: []int{4}, FlowLogGroup: 1})
		b.Run(fmt.Sprintf("%dx%d/render+flowlogs", n, n), func(b *testing.B) {
			for i := range b.N {
				flows.Apply(model.SyncEvent{Updates: []model.Update{changedPolicy(i, n)}})
				flows.Render()
			}
		})
		c := startOfDayRender(b, n)
		res := c.Render()[4] // nothing changed: the full render's chains
		tab, err := nftrules.Build(4, nftrules.Input{IPVersion: 4, Chains: res.Chains, Inserts: res.Inserts, IPSets: res.IPSets})
		if err != nil {
			b.Fatal(err)
		}
		tab.Reset()
		for _, mode := range []string{"render", "render+nft-patch", "scratch+nft-build"} {
			b.Run(fmt.Sprintf("%dx%d/%s", n, n, mode), func(b *testing.B) {
				for i := range b.N {
					c.Apply(model.SyncEvent{Updates: []model.Update{changedPolicy(i, n)}})
					if mode == "scratch+nft-build" {
						c.ForgetRenders()
					}
					res := c.Render()[4]
					switch mode {
					case "render+nft-patch":
						patchNft(tab, res)
					case "scratch+nft-build":
						if _, err := nftrules.Build(4, nftrules.Input{IPVersion: 4, Chains: res.Chains, Inserts: res.Inserts, IPSets: res.IPSets}); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// patchNft applies a render's chain delta to an nftables table, as the
// nftables dataplane does (felix/nftables.go; IP sets: none change here).
func patchNft(t *nftrules.Table, res rules.Result) {
	for _, name := range res.Delta.Changed {
		i, _ := slices.BinarySearchFunc(res.Chains, name, func(c ipt.Chain, n string) int { return strings.Compare(c.Name, n) })
		t.SetChain(res.Chains[i])
	}
	for _, name := range res.Delta.Removed {
		t.RemoveChain(name)
	}
	t.Reset()
}

// BenchmarkStartOfDayRender is the CPU share of start of day before any
// kernel work: a full sync event of n endpoints × n policies fed to a new
// Calculator and rendered from scratch. No root.
func BenchmarkStartOfDayRender(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%dx%d", n, n), func(b *testing.B) {
			for range b.N {
				startOfDayRender(b, n)
			}
		})
	}
}

// startOfDayRender returns a Calculator fed rules.ScaleUpdates(n, n) and
// rendered once.
func startOfDayRender(b *testing.B, n int) *policy.Calculator {
	return startOfDayRenderWith(b, n, policy.Config{NodeName: "h1", IPVersions: []int{4}})
}

// startOfDayRenderWith is startOfDayRender with cfg.
func startOfDayRenderWith(b *testing.B, n int, cfg policy.Config) *policy.Calculator {
	ups, err := rules.ScaleUpdates(n, n)
	if err != nil {
		b.Fatal(err)
	}
	c := policy.NewCalculator(cfg)
	c.Apply(model.SyncEvent{Full: true, Updates: ups})
	c.Render()
	return c
}
