package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestRemovedWhileDaemonDown: a container removed while the daemon is
// stopped. Docker tears the sandbox down anyway: it moves the container
// end of the veth back to the host as tmp<id> (down), and its Leave and
// DeleteEndpoint calls find no plugin. That left a cali<id>/tmp<id> pair
// in the host namespace for good (the leak seen after CI runs, from
// TestREADMETour, whose containers were removed after its daemon stopped).
// The next daemon forgets the endpoint at start-up: no veth and no
// WorkloadEndpoint are left, and the network can be removed.
func TestRemovedWhileDaemonDown(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool)
	d := startDaemon(t, e.host)
	n := e.network("down")
	before := testenv.WorkloadLinks(t)
	c := e.run("gone", "--net", n)
	ep := strings.TrimSpace(e.must("inspect", "-f", "{{(index .NetworkSettings.Networks \""+n+"\").EndpointID}}", c))
	host, tmp := "cali"+ep[:11], "tmp"+ep[:11]

	d.stop()
	start := time.Now()
	e.must("rm", "-f", c) // Docker retries the plugin for a while, then gives up
	t.Logf("docker rm -f with the daemon down took %v", time.Since(start).Round(time.Second))
	now := testenv.WorkloadLinks(t)
	if !slices.Contains(now, host) || !slices.Contains(now, tmp) {
		t.Logf("after the removal the host has %v (Docker did not hand the pair back this time)", now)
	}
	d.start()
	out, _ := e.try("network", "inspect", "-f", "{{json .Containers}}", n)
	t.Logf("Docker's endpoints of %s after the removal: %s", n, out)
	checkNoEndpoints(t, d)
	testenv.CheckNoNewWorkloadLinks(t, before)
	// Docker itself may keep a record of the endpoint its failed
	// DeleteEndpoint left ("has active endpoints" at network rm); the
	// documented way out clears it, and the driver answers it.
	if _, err := e.try("network", "disconnect", "-f", n, c); err != nil {
		t.Logf("docker network disconnect -f %s %s: %v", n, c, err)
	}
	e.must("network", "rm", n)
}
