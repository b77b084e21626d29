package felix

import (
	"fmt"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// TestGatewayRangeIsLocal: the workloads' gateways (169.254.1.0/24) are
// local to the host namespace once the dataplane synced, and again after
// the route was deleted (a full resync repairs it). No packet is sent to
// them: the kernel's own route lookup shows where one would go.
func TestGatewayRangeIsLocal(t *testing.T) {
	n := felixtest.NewNS(t, "gateway")
	d := startDataplane(t, n, Config{})
	waitSynced(t, d)
	check := func(stage string) {
		t.Helper()
		felixtest.Eventually(t, converge, stage, func() error {
			if out, err := n.TryRun("ip", "route", "get", "169.254.1.7"); err != nil || !strings.HasPrefix(out, "local 169.254.1.7 dev lo") {
				return fmt.Errorf("ip route get 169.254.1.7: %s %v", out, err)
			}
			return nil
		})
	}
	check("gateway range local")
	n.Run(t, "ip", "route", "del", "local", "169.254.1.0/24", "dev", "lo", "table", "local")
	d.Kick()
	check("gateway range local again after a full resync")
	if out, _ := n.TryRun("ip", "route", "get", "169.254.2.1"); strings.HasPrefix(out, "local") {
		t.Errorf("outside the gateway range: %s", out)
	}
}
