package driver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// sandbox is a namespace playing a container; attach does to it what
// Docker does with a Join answer (libnetwork's osl package): move the
// interface in, rename it, add the address, the on-link routes, the
// next-hop routes and, for the first interface, the default route. Kernel
// errors (such as EEXIST for a duplicate route) fail the test, as they
// fail `docker network connect`.
type sandbox struct {
	path string
	nl   *netlink.Handle
	n    int // interfaces attached so far
}

func newSandbox(t *testing.T) *sandbox {
	ns, name := testenv.NewNetNS(t)
	nl, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nl.Close)
	return &sandbox{path: filepath.Join(testenv.NetNSDir, name), nl: nl}
}

func (s *sandbox) attach(hostNS string, resp *network.JoinResponse, addr string) error {
	hns, err := netns.GetFromPath(hostNS)
	if err != nil {
		return err
	}
	defer hns.Close()
	host, err := netlink.NewHandleAt(hns)
	if err != nil {
		return err
	}
	defer host.Close()
	link, err := host.LinkByName(resp.InterfaceName.SrcName)
	if err != nil {
		return fmt.Errorf("temporary interface: %w", err)
	}
	sfd, err := netns.GetFromPath(s.path)
	if err != nil {
		return err
	}
	defer sfd.Close()
	if err := host.LinkSetNsFd(link, int(sfd)); err != nil {
		return err
	}
	if link, err = s.nl.LinkByName(resp.InterfaceName.SrcName); err != nil {
		return err
	}
	name := fmt.Sprintf("%s%d", resp.InterfaceName.DstPrefix, s.n)
	s.n++
	if err := s.nl.LinkSetName(link, name); err != nil {
		return err
	}
	if err := s.nl.LinkSetUp(link); err != nil {
		return err
	}
	ip, err := netlink.ParseIPNet(addr)
	if err != nil {
		return err
	}
	if err := s.nl.AddrAdd(link, &netlink.Addr{IPNet: ip}); err != nil {
		return err
	}
	return s.addRoutes(link, resp, s.n == 1)
}

func (s *sandbox) addRoutes(link netlink.Link, resp *network.JoinResponse, gateway bool) error {
	for _, r := range resp.StaticRoutes { // interface routes first, as osl does
		if r.RouteType != routeConnected {
			continue
		}
		_, dst, _ := net.ParseCIDR(r.Destination)
		if err := s.nl.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK}); err != nil {
			return fmt.Errorf("error setting interface routes to [%s]: %w", r.Destination, err)
		}
	}
	for _, r := range resp.StaticRoutes {
		if r.RouteType != routeNextHop {
			continue
		}
		_, dst, _ := net.ParseCIDR(r.Destination)
		if err := s.routeVia(dst, net.ParseIP(r.NextHop)); err != nil {
			return fmt.Errorf("static route %s: %w", r.Destination, err)
		}
	}
	if gateway && resp.Gateway != "" {
		return s.routeVia(nil, net.ParseIP(resp.Gateway))
	}
	return nil
}

func (s *sandbox) routeVia(dst *net.IPNet, gw net.IP) error {
	got, err := s.nl.RouteGet(gw)
	if err != nil {
		return err
	}
	return s.nl.RouteAdd(&netlink.Route{LinkIndex: got[0].LinkIndex, Dst: dst, Gw: gw})
}

// routeFor returns the device and source address the sandbox uses for dst.
func (s *sandbox) routeFor(t *testing.T, dst string) (string, string) {
	t.Helper()
	rs, err := s.nl.RouteGet(net.ParseIP(dst))
	if err != nil {
		t.Fatal(err)
	}
	link, err := s.nl.LinkByIndex(rs[0].LinkIndex)
	if err != nil {
		t.Fatal(err)
	}
	return link.Attrs().Name, rs[0].Src.String()
}

// routeFrom returns the device the sandbox uses for dst from source src.
func (s *sandbox) routeFrom(t *testing.T, dst, src string) string {
	t.Helper()
	rs, err := s.nl.RouteGetWithOptions(net.ParseIP(dst), &netlink.RouteGetOptions{SrcAddr: net.ParseIP(src)})
	if err != nil {
		return err.Error()
	}
	link, err := s.nl.LinkByIndex(rs[0].LinkIndex)
	if err != nil {
		t.Fatal(err)
	}
	return link.Attrs().Name
}

// hasRuleFrom reports whether the sandbox has a rule for source cidr.
func (s *sandbox) hasRuleFrom(t *testing.T, cidr string) bool {
	t.Helper()
	rules, err := s.nl.RuleList(netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Src != nil && r.Src.String() == cidr {
			return true
		}
	}
	return false
}

// TestEndpointLifecycle drives create, join (twice into one sandbox, on two
// networks), leave and delete through the socket, with the kernel side
// done for real.
func TestEndpointLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	h.addPool("10.231.0.0/16")
	h.addPool("10.232.0.0/16")
	net2, ep2 := "b"+testNetID[1:], "b"+testEPID[1:]
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "10.231.0.0/16", "dev"), nil)
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(net2, "10.232.0.0/16", "prod"), nil)
	sb := newSandbox(t)

	addr1 := h.allocate("10.231.0.0/16")
	var cr network.CreateEndpointResponse
	h.mustCall("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: testNetID, EndpointID: testEPID,
		Interface: &network.EndpointInterface{Address: addr1}}, &cr)
	if cr.Interface == nil || cr.Interface.MacAddress != macFor(testEPID).String() {
		t.Errorf("CreateEndpoint answer %+v lacks the generated MAC", cr.Interface)
	}
	if _, err := h.store.Get(h.ctx(), resources.KindWorkloadEndpoint, "", WorkloadEndpointName(testNode, testEPID)); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("CreateEndpoint stored the endpoint (Join stores it): %v", err)
	}

	var jr network.JoinResponse
	h.mustCall("/NetworkDriver.Join", network.JoinRequest{NetworkID: testNetID, EndpointID: testEPID, SandboxKey: sb.path}, &jr)
	checkEndpoint(t, h, testEPID, testNetID, addr1, "dev")
	if jr.Gateway != "169.254.1.1" || jr.InterfaceName.DstPrefix != "cali" || !jr.DisableGatewayService {
		t.Errorf("first Join answer = %+v", jr)
	}
	if err := sb.attach(h.hostNS, &jr, addr1); err != nil {
		t.Fatal(err)
	}

	// A second calico network on the same container.
	addr2 := h.allocate("10.232.0.0/16")
	h.mustCall("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: net2, EndpointID: ep2,
		Interface: &network.EndpointInterface{Address: addr2, MacAddress: "02:00:00:00:00:02"}}, &cr)
	if cr.Interface != nil && cr.Interface.MacAddress != "" {
		t.Errorf("driver answered a MAC although Docker gave one: %+v", cr.Interface)
	}
	h.mustCall("/NetworkDriver.Join", network.JoinRequest{NetworkID: net2, EndpointID: ep2, SandboxKey: sb.path}, &jr)
	if jr.Gateway != "169.254.1.2" {
		t.Errorf("second Join gateway = %q, want 169.254.1.2", jr.Gateway)
	}
	if err := sb.attach(h.hostNS, &jr, addr2); err != nil {
		t.Fatalf("second interface: %v", err)
	}
	// Each network's traffic leaves by its own interface with its own address.
	for dst, want := range map[string][2]string{
		"10.231.99.1": {"cali0", netip.MustParsePrefix(addr1).Addr().String()},
		"10.232.99.1": {"cali1", netip.MustParsePrefix(addr2).Addr().String()},
		"192.0.2.200": {"cali0", netip.MustParsePrefix(addr1).Addr().String()},
	} {
		if dev, src := sb.routeFor(t, dst); dev != want[0] || src != want[1] {
			t.Errorf("route to %s: dev %s src %s, want %s %s", dst, dev, src, want[0], want[1])
		}
	}
	// Replies leave by the interface owning their source address, whatever
	// the destination (source routing, added in the background).
	testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		for src, want := range map[string]string{addr1: "cali0", addr2: "cali1"} {
			if dev := sb.routeFrom(t, "192.0.2.200", netip.MustParsePrefix(src).Addr().String()); dev != want {
				return fmt.Errorf("reply from %s leaves by %s, want %s", src, dev, want)
			}
		}
		return nil
	})
	wep := getEndpoint(t, h, ep2)
	if wep.Spec.IPv4Gateway != "169.254.1.2" || wep.Annotations[AnnotationSandbox] != sb.path {
		t.Errorf("join not recorded: gateway %q annotations %v", wep.Spec.IPv4Gateway, wep.Annotations)
	}

	for _, ep := range []string{testEPID, ep2} {
		h.mustCall("/NetworkDriver.Leave", network.LeaveRequest{EndpointID: ep}, nil)
		testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
			if sb.hasRuleFrom(t, map[string]string{testEPID: addr1, ep2: addr2}[ep]) {
				return fmt.Errorf("source rule of %s left after Leave", ep)
			}
			return nil
		})
		testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
			if hostLinkExists(t, h.hostNS, HostIface(ep)) {
				return fmt.Errorf("veth %s still exists after Leave", HostIface(ep))
			}
			return nil
		})
		h.mustCall("/NetworkDriver.DeleteEndpoint", network.DeleteEndpointRequest{EndpointID: ep}, nil)
		if _, err := h.store.Get(h.ctx(), resources.KindWorkloadEndpoint, "", WorkloadEndpointName(testNode, ep)); !errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("WorkloadEndpoint of %s still there: %v", ep, err)
		}
	}
}

func getEndpoint(t *testing.T, h *harness, ep string) *resources.WorkloadEndpoint {
	t.Helper()
	wep, err := datastore.GetAs[*resources.WorkloadEndpoint](h.ctx(), h.store, "", WorkloadEndpointName(testNode, ep))
	if err != nil {
		t.Fatal(err)
	}
	return wep
}

func checkEndpoint(t *testing.T, h *harness, ep, netID, addr, profile string) {
	t.Helper()
	wep := getEndpoint(t, h, ep)
	s := wep.Spec
	if s.Node != testNode || s.Endpoint != ep || s.Network != netID || len(s.IPNetworks) != 1 || s.IPNetworks[0] != addr ||
		s.InterfaceName != HostIface(ep) || len(s.Profiles) != 1 || s.Profiles[0] != profile || s.MAC == "" {
		t.Errorf("WorkloadEndpoint spec = %+v", s)
	}
	if wep.Labels[resources.LabelOrchestrator] != "libnetwork" || wep.Labels[resources.LabelProfile] != profile {
		t.Errorf("WorkloadEndpoint labels = %v", wep.Labels)
	}
	ips, err := h.alloc.IPsByHandle(h.ctx(), Handle(ep))
	if err != nil || len(ips) != 1 || netip.PrefixFrom(ips[0], 32).String() != addr {
		t.Errorf("IPAM handle %s holds %v (%v), want %s", Handle(ep), ips, err, addr)
	}
}

func hostLinkExists(t *testing.T, nsPath, name string) bool {
	t.Helper()
	return hostLinkIndex(t, nsPath, name) != 0
}
