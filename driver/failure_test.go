package driver

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/docker/go-plugins-helpers/network"
)

// failingVeths injects a veth failure the kernel will not give on demand.
type failingVeths struct{ err error }

var _ Veths = failingVeths{}

func (f failingVeths) CreateVeth(string, string, net.HardwareAddr, int) error { return f.err }
func (f failingVeths) DeleteVeth(string) error                                { return nil }

func TestJoinReportsVethFailure(t *testing.T) {
	h := newHarness(t, failingVeths{errors.New("create veth calica604582ea2: operation not permitted")})
	h.addPool("10.231.0.0/16")
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "10.231.0.0/16", "dev"), nil)
	addr := h.allocate("10.231.0.0/16")
	h.mustCall("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: testNetID, EndpointID: testEPID,
		Interface: &network.EndpointInterface{Address: addr}}, nil)
	msg := h.callErr("/NetworkDriver.Join", network.JoinRequest{NetworkID: testNetID, EndpointID: testEPID, SandboxKey: "/nonexistent/sandbox"})
	if !strings.Contains(msg, "operation not permitted") {
		t.Errorf("Join error %q hides the cause", msg)
	}
	// Docker then tears the endpoint down; that must succeed.
	h.mustCall("/NetworkDriver.Leave", network.LeaveRequest{NetworkID: testNetID, EndpointID: testEPID}, nil)
	h.mustCall("/NetworkDriver.DeleteEndpoint", network.DeleteEndpointRequest{NetworkID: testNetID, EndpointID: testEPID}, nil)
}
