package policy_test

import (
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix"
)

// dataplanes are the backends every kernel test of this package runs
// against: one test body, two backends.
var dataplanes = []string{felix.DataplaneIptables, felix.DataplaneNftables}

// eachDataplane runs body once per backend, as a subtest named after it,
// with a Config choosing that backend.
func eachDataplane(t *testing.T, body func(t *testing.T, cfg felix.Config)) {
	for _, dp := range dataplanes {
		t.Run(dp, func(t *testing.T) { body(t, felix.Config{Dataplane: dp}) })
	}
}
