package e2e

import (
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// cleanHostDataplane removes what the stopped test daemon's dataplane left
// on the host (see testenv.CleanHostDataplane).
func cleanHostDataplane(t testing.TB, pools ...string) {
	t.Helper()
	testenv.CleanHostDataplane(t, pools...)
}
