package policy_test

import (
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/policy"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
)

// BenchmarkPolicyChangeRender is the CPU share of one policy change at 1000
// endpoints × 1000 policies before any kernel work: the Calculator's
// render, and the nftables table built from it (nft-build). No root.
func BenchmarkPolicyChangeRender(b *testing.B) {
	ups, err := rules.ScaleUpdates(1000, 1000)
	if err != nil {
		b.Fatal(err)
	}
	c := policy.NewCalculator(policy.Config{NodeName: "h1", IPVersions: []int{4}})
	c.Apply(model.SyncEvent{Full: true, Updates: ups})
	c.Render()
	for _, withNft := range []bool{false, true} {
		name := "render"
		if withNft {
			name = "render+nft-build"
		}
		b.Run(name, func(b *testing.B) {
			for i := range b.N {
				c.Apply(model.SyncEvent{Updates: []model.Update{changedPolicy(i, 1000)}})
				res := c.Render()[4]
				if withNft {
					if _, err := nftrules.Build(4, nftrules.Input{IPVersion: 4, Chains: res.Chains, Inserts: res.Inserts, IPSets: res.IPSets}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
