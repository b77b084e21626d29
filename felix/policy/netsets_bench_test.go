package policy_test

import (
	"fmt"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/policy"
	"github.com/calico-docker/calico-libnetwork/internal/fleetsim"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// BenchmarkNetSetChurn is the Calculator's share (apply + render, no
// kernel) of one change in fleetsim's fleet (200 hosts × 50 endpoints, 20
// policies whose rule selectors match by app label) with network sets
// that those selectors match: a remote endpoint change without any set
// (the baseline, as BenchmarkRemoteChurn), the same with 200 NetworkSets,
// and one NetworkSet's nets changed. Compare the ns/op of the three in one
// run.
func BenchmarkNetSetChurn(b *testing.B) {
	cfg := fleetsim.Config{Hosts: 200, EndpointsPerHost: 50}.Defaults()
	for _, sets := range []int{0, 200} {
		b.Run(fmt.Sprintf("endpoint-change/sets=%d", sets), func(b *testing.B) {
			c := fleetCalculator(cfg, sets)
			b.ResetTimer()
			for n := range b.N {
				h, i := 1+n%(cfg.Hosts-1), (n/cfg.Hosts)%cfg.EndpointsPerHost
				c.Apply(model.SyncEvent{Updates: []model.Update{model.UpdateOf(cfg.Endpoint(h, i, n))}})
				c.Render()
			}
		})
	}
	b.Run("netset-change/sets=200", func(b *testing.B) {
		c := fleetCalculator(cfg, 200)
		b.ResetTimer()
		for n := range b.N {
			c.Apply(model.SyncEvent{Updates: []model.Update{model.UpdateOf(benchNetSet(cfg, n%200, n))}})
			c.Render()
		}
	})
}

// benchNetSet is network set j (label app-<j mod Apps>, matched by the
// fleet's policies' rule selectors) holding a /24 chosen by v.
func benchNetSet(cfg fleetsim.Config, j, v int) *resources.NetworkSet {
	s := resources.NewNetworkSet(fmt.Sprintf("bench-set-%d", j))
	s.Labels = map[string]string{fleetsim.LabelApp: fmt.Sprintf("app-%d", j%cfg.Apps)}
	s.Spec.Nets = []string{fmt.Sprintf("100.%d.%d.0/24", 64+v%64, j%256)}
	return s
}

// fleetCalculator is a Calculator with fleetEvent(cfg, sets) applied and
// rendered once.
func fleetCalculator(cfg fleetsim.Config, sets int) *policy.Calculator {
	c := policy.NewCalculator(policy.Config{NodeName: "local", IPVersions: []int{4}})
	c.Apply(fleetEvent(cfg, sets))
	c.Render()
	return c
}

// fleetEvent is the full sync of fleetsim's fleet as seen from one local
// endpoint (node "local"), with sets network sets.
func fleetEvent(cfg fleetsim.Config, sets int) model.SyncEvent {
	local := cfg.Endpoint(0, 0, 0)
	local.Spec.Node = "local"
	ev := model.SyncEvent{Full: true}
	ev.Updates = append(ev.Updates, model.UpdateOf(cfg.Profile()), model.UpdateOf(local))
	for i := range cfg.Policies {
		ev.Updates = append(ev.Updates, model.UpdateOf(cfg.Policy(i)))
	}
	for h := 1; h < cfg.Hosts; h++ {
		for i := range cfg.EndpointsPerHost {
			ev.Updates = append(ev.Updates, model.UpdateOf(cfg.Endpoint(h, i, h*cfg.EndpointsPerHost+i)))
		}
	}
	for j := range sets {
		ev.Updates = append(ev.Updates, model.UpdateOf(benchNetSet(cfg, j, 0)))
	}
	return ev
}
