package policy_test

import (
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// TestHandNamedInterface: a workload whose interface was named by hand,
// not cali<hex digits> as the driver names them, is policed like any
// other. In egress mode its shard's chain hooks its name's prefix
// (caliZ*) besides the hex digits'; were it not hooked, its ingress
// policy would not run at all.
func TestHandNamedInterface(t *testing.T) { eachDataplane(t, testHandNamedInterface) }

func testHandNamedInterface(t *testing.T, cfg felix.Config) {
	cfg.Policy = true
	b := newBed(t, cfg, decode(t, networkProfiles)...)
	b.addWorkload("client", 1, []string{"net1"}, map[string]string{"role": "client"})
	b.addWorkload("other", 3, []string{"net1"}, map[string]string{"role": "other"})
	spec := felixtest.DefaultSpec(2)
	spec.HostSide = "caliZserver"
	b.addWorkloadSpec("server", spec, []string{"net1"}, map[string]string{"role": "server"})
	b.setPolicies(onServer("from-clients", `
  ingress: [{action: Allow, source: {selector: "role == 'client'"}}]`))
	b.check(tcp("client", "server", 80, true), tcp("other", "server", 80, false), tcp("host", "server", 80, true))
}
