package driver

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/dockerapi"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// waitCached waits until the harness's cache holds n endpoints of the node.
func (h *harness) waitCached(n int) {
	h.t.Helper()
	testenv.Eventually(h.t, 10*time.Second, 10*time.Millisecond, func() error {
		if got := len(h.endpoints.EndpointsOfNode(testNode)); got != n {
			return fmt.Errorf("%d endpoints of the node cached, want %d", got, n)
		}
		return nil
	})
}

// TestResyncForgetsOrphans: an endpoint whose container Docker removed
// while no daemon answered (its sandbox is gone, Docker no longer lists
// it) loses its veth and its WorkloadEndpoint at the next daemon's Resync;
// an endpoint Docker lists, or whose sandbox lives, is kept.
func TestResyncForgetsOrphans(t *testing.T) {
	h := newLabelHarness(t)
	listed, orphan, live := "a"+testEPID[1:], "b"+testEPID[1:], "c"+testEPID[1:]
	// Docker unmounts a removed sandbox's namespace file at once but
	// deletes the file up to a minute later: the orphan's is such a file.
	unmounted := filepath.Join(t.TempDir(), "netns-unmounted")
	if err := os.WriteFile(unmounted, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for ep, sb := range map[string]string{listed: "/nonexistent/" + listed, orphan: unmounted} {
		h.mustCall("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: testNetID, EndpointID: ep,
			Interface: &network.EndpointInterface{Address: h.allocate("10.231.0.0/16")}}, nil)
		h.mustCall("/NetworkDriver.Join", network.JoinRequest{NetworkID: testNetID, EndpointID: ep, SandboxKey: sb}, nil)
	}
	h.joinEndpoint(live) // a real sandbox
	h.docker.AddContainer(strings.Repeat("a", 64), "listed", nil)
	h.docker.Attach(strings.Repeat("a", 64), testNetID, listed)
	h.drv.Close()
	h.waitCached(3)

	dc, err := dockerapi.New(h.docker.Host())
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	if err := h.newDriver(dc).Resync(h.ctx()); err != nil {
		t.Fatal(err)
	}
	_, err = datastore.GetAs[*resources.WorkloadEndpoint](h.ctx(), h.store, "", WorkloadEndpointName(testNode, orphan))
	if !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("the orphan's WorkloadEndpoint: %v, want it deleted", err)
	}
	if hostLinkExists(t, h.hostNS, HostIface(orphan)) || hostLinkExists(t, h.hostNS, tmpIface(orphan)) {
		t.Errorf("the orphan's veth %s is left", HostIface(orphan))
	}
	for _, ep := range []string{listed, live} {
		getEndpoint(t, h, ep) // fails the test if deleted
		if !hostLinkExists(t, h.hostNS, HostIface(ep)) {
			t.Errorf("veth %s of a kept endpoint was deleted", HostIface(ep))
		}
	}
}
