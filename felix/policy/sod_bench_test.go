package policy_test

import (
	"fmt"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/policy"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
)

// BenchmarkStartOfDayRender is the CPU share of start of day before any
// kernel work: a full sync event of n endpoints × n policies fed to a
// new Calculator and rendered from scratch. No root.
func BenchmarkStartOfDayRender(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		ups, err := rules.ScaleUpdates(n, n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dx%d", n, n), func(b *testing.B) {
			for range b.N {
				c := policy.NewCalculator(policy.Config{NodeName: "h1", IPVersions: []int{4}})
				c.Apply(model.SyncEvent{Full: true, Updates: ups})
				c.Render()
			}
		})
	}
}
