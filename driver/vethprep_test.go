package driver

import (
	"fmt"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"

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
