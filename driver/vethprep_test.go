package driver

import (
	"fmt"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestVethMadeAheadOfJoin: CreateEndpoint starts making the veth, Join
// hands it over, and an endpoint Docker deletes without joining it leaves
// no veth behind.
func TestVethMadeAheadOfJoin(t *testing.T) {
	h := newHarness(t, nil)
	h.addPool("10.231.0.0/16")
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "10.231.0.0/16", "dev"), nil)
	unjoined := "c" + testEPID[1:]
	for _, ep := range []string{testEPID, unjoined} {
		h.mustCall("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: testNetID, EndpointID: ep,
			Interface: &network.EndpointInterface{Address: h.allocate("10.231.0.0/16")}}, nil)
	}
	var jr network.JoinResponse
	h.mustCall("/NetworkDriver.Join", network.JoinRequest{NetworkID: testNetID, EndpointID: testEPID, SandboxKey: "/nonexistent/sandbox"}, &jr)
	if !hostLinkExists(t, h.hostNS, HostIface(testEPID)) || !hostLinkExists(t, h.hostNS, jr.InterfaceName.SrcName) {
		t.Fatalf("after Join the veth %s / %s is missing", HostIface(testEPID), jr.InterfaceName.SrcName)
	}
	h.mustCall("/NetworkDriver.DeleteEndpoint", network.DeleteEndpointRequest{NetworkID: testNetID, EndpointID: unjoined}, nil)
	h.mustCall("/NetworkDriver.Leave", network.LeaveRequest{NetworkID: testNetID, EndpointID: testEPID}, nil)
	h.mustCall("/NetworkDriver.DeleteEndpoint", network.DeleteEndpointRequest{NetworkID: testNetID, EndpointID: testEPID}, nil)
	h.drv.Close() // waits for background creations and deletions
	for _, ep := range []string{testEPID, unjoined} {
		testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
			if hostLinkExists(t, h.hostNS, HostIface(ep)) {
				return fmt.Errorf("veth %s still exists after DeleteEndpoint", HostIface(ep))
			}
			return nil
		})
	}
}

// hostLinkIndex returns the ifindex of name in the harness's host
// namespace (0: no such link).
func hostLinkIndex(t *testing.T, nsPath, name string) int {
	t.Helper()
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	nl, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	l, err := nl.LinkByName(name)
	if err != nil {
		return 0
	}
	return l.Attrs().Index
}

// createdEndpointHarness is a harness with a network and the endpoint
// testEPID created (its veth on the way), not joined.
func createdEndpointHarness(t *testing.T) *harness {
	h := newHarness(t, nil)
	h.addPool("10.231.0.0/16")
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "10.231.0.0/16", "dev"), nil)
	h.mustCall("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: testNetID, EndpointID: testEPID,
		Interface: &network.EndpointInterface{Address: h.allocate("10.231.0.0/16")}}, nil)
	return h
}

// TestUnjoinedVethsGoWithTheDriver: the veth of an endpoint Docker created
// but never joined nor deleted is deleted when the driver closes (the
// daemon stops): after a restart that endpoint can never join.
func TestUnjoinedVethsGoWithTheDriver(t *testing.T) {
	h := createdEndpointHarness(t)
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if !hostLinkExists(t, h.hostNS, tmpIface(testEPID)) {
			return fmt.Errorf("no veth %s yet", tmpIface(testEPID))
		}
		return nil
	})
	h.drv.Close()
	for _, name := range []string{HostIface(testEPID), tmpIface(testEPID)} {
		if hostLinkExists(t, h.hostNS, name) {
			t.Errorf("%s still exists after the driver closed", name)
		}
	}
}

// TestJoinRemakesAnOldPreparedVeth: Join makes a pair prepared longer ago
// than preparedFresh again (a new ifindex), so felix, which counts a
// stray's age by ifindex, never reaps the pair Docker is about to move.
func TestJoinRemakesAnOldPreparedVeth(t *testing.T) {
	h := createdEndpointHarness(t)
	h.drv.mu.Lock()
	p := h.drv.preparing[testEPID]
	p.started = p.started.Add(-2 * preparedFresh) // as if Docker took that long to join
	h.drv.mu.Unlock()
	<-p.done
	before := hostLinkIndex(t, h.hostNS, HostIface(testEPID))
	if before == 0 {
		t.Fatalf("no prepared veth %s", HostIface(testEPID))
	}
	h.mustCall("/NetworkDriver.Join", network.JoinRequest{NetworkID: testNetID, EndpointID: testEPID, SandboxKey: "/nonexistent/sandbox"}, nil)
	after := hostLinkIndex(t, h.hostNS, HostIface(testEPID))
	if after == 0 || after == before || !hostLinkExists(t, h.hostNS, tmpIface(testEPID)) {
		t.Errorf("after Join: %s ifindex %d (prepared: %d), %s exists: %v; want a new pair",
			HostIface(testEPID), after, before, tmpIface(testEPID), hostLinkExists(t, h.hostNS, tmpIface(testEPID)))
	}
}
