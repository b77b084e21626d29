package policy_test

import (
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix"
)

// dataplanes are the backends every kernel test of this package runs
// against: one test body, two backends.
var dataplanes = []string{felix.DataplaneIptables, felix.DataplaneNftables}

// nftablesForward names the nftables backend with the workloads' ingress
// policy kept on the forward hook (Config.NftablesForwardHook): the
// layout of kernels before 6.16, where "nftables" puts it on the
// interfaces' egress hook.
const nftablesForward = "nftables-forward"

// eachDataplane runs body once per backend, as a subtest named after it,
// with a Config choosing that backend; the nftables one twice, with the
// to-workload policy on either hook.
func eachDataplane(t *testing.T, body func(t *testing.T, cfg felix.Config)) {
	for _, dp := range dataplanes {
		t.Run(dp, func(t *testing.T) { body(t, felix.Config{Dataplane: dp}) })
	}
	t.Run(nftablesForward, func(t *testing.T) { body(t, dataplaneConfig(nftablesForward)) })
}

// dataplaneConfig is the Config choosing backend dp (a felix dataplane or
// nftablesForward).
func dataplaneConfig(dp string) felix.Config {
	if dp == nftablesForward {
		return felix.Config{Dataplane: felix.DataplaneNftables, NftablesForwardHook: true}
	}
	return felix.Config{Dataplane: dp}
}
