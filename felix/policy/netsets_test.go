package policy_test

import (
	"net/netip"
	"os"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// External clients: one namespace behind a plain (non-Calico) veth of the
// host, holding two addresses of 198.51.100.0/24: "in" is inside the
// 198.51.100.0/28 of Calico's network set examples, "out" is not.
var (
	extIn      = netip.MustParseAddr("198.51.100.7")
	extOut     = netip.MustParseAddr("198.51.100.77")
	extGateway = netip.MustParseAddr("198.51.100.1")
	// With IPv6: "in" also has 2001:db8:100::7, "out" 2001:db8:100::1:7.
	extIn6      = netip.MustParseAddr("2001:db8:100::7")
	extOut6     = netip.MustParseAddr("2001:db8:100::1:7")
	extGateway6 = netip.MustParseAddr("2001:db8:100::1")
)

// addExternal makes the external clients "in" and "out" (probe names),
// serving TCP on port 80 of both addresses.
func (b *bed) addExternal() {
	t := b.t
	t.Helper()
	c := felixtest.NewNS(t, "external")
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "extnet0"}, PeerName: "tmpext0"}
	if err := b.host.NL.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	if err := b.host.NL.LinkSetNsFd(b.host.Link(t, "tmpext0"), int(*c.NS.Handle())); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("external clients: %v", err)
		}
	}
	addr := func(h *netlink.Handle, l netlink.Link, a netip.Addr) {
		t.Helper()
		bits := map[bool]int{true: 24, false: 64}[a.Is4()]
		must(h.AddrAdd(l, &netlink.Addr{IPNet: felixtest.PrefixToIPNet(netip.PrefixFrom(a, bits)), Flags: unix.IFA_F_NODAD}))
	}
	hostSide := b.host.Link(t, "extnet0")
	must(c.NL.LinkSetName(c.Link(t, "tmpext0"), "eth0"))
	eth0 := c.Link(t, "eth0")
	in, out := &felixtest.Workload{NS: c, V4: extIn}, &felixtest.Workload{NS: c, V4: extOut}
	addr(b.host.NL, hostSide, extGateway)
	addr(c.NL, eth0, extIn)
	addr(c.NL, eth0, extOut)
	if b.v6 {
		in.V6, out.V6 = extIn6, extOut6
		addr(b.host.NL, hostSide, extGateway6)
		addr(c.NL, eth0, extIn6)
		addr(c.NL, eth0, extOut6)
	}
	must(b.host.NL.LinkSetUp(hostSide))
	must(c.NL.LinkSetUp(eth0))
	must(c.NL.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: extGateway.AsSlice()}))
	if b.v6 {
		must(c.NL.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: extGateway6.AsSlice()}))
	}
	for _, w := range []*felixtest.Workload{in, out} {
		for _, a := range []netip.Addr{w.V4, w.V6} {
			if a.IsValid() {
				felixtest.Serve(t, c, netip.AddrPortFrom(a, 80))
			}
		}
	}
	b.wls["in"], b.wls["out"] = in, out
}

// moveTo re-stores workload name's endpoint in namespace ns, as the driver
// does for a network with org.projectcalico.namespace.
func (b *bed) moveTo(name, ns string) {
	b.t.Helper()
	old := b.wep(name)
	moved := b.wep(name)
	moved.Namespace = ns
	delete(b.store, key(old))
	b.store[key(moved)] = moved
	b.send(model.SyncEvent{Updates: append(b.updates([]resources.Resource{old}, true), model.UpdateOf(moved))})
}

// docsExample decodes an example of Calico's documentation, unchanged.
func docsExample(t *testing.T, file string) resources.Resource {
	t.Helper()
	data, err := os.ReadFile("../../resources/testdata/calico-docs/" + file)
	if err != nil {
		t.Fatal(err)
	}
	objs := decode(t, string(data))
	if len(objs) != 1 {
		t.Fatalf("%s: %d resources, want 1", file, len(objs))
	}
	return objs[0]
}

// TestNetworkSets: rule selectors match network sets' CIDRs in the
// dataplane, with real packets from addresses outside every workload.
// Calico's NetworkSet example (namespace staging, role: db, nets
// 198.51.100.0/28 and 203.0.113.0/24) admits "in" and not "out" to a
// workload of staging, for staging's policies only; changing its nets
// changes enforcement; the GlobalNetworkSet example (role:
// external-database) serves global policies, here for egress.
func TestNetworkSets(t *testing.T) {
	b := newBed(t, felix.Config{Policy: true})
	b.addExternal()
	b.addWorkload("web", 1, nil, map[string]string{"app": "web"})
	b.moveTo("web", "staging")
	b.setPolicies(`
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: from-db-clients, namespace: staging}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress: [{action: Allow, protocol: TCP, source: {selector: role == 'db'}}]
`)
	b.check(tcp("in", "web", 80, false), tcp("out", "web", 80, false))

	set := docsExample(t, "networkset.yaml").(*resources.NetworkSet)
	b.put(set)
	b.check(tcp("in", "web", 80, true), tcp("out", "web", 80, false))

	// New nets: enforcement follows.
	changed := *set
	changed.Spec.Nets = []string{"198.51.100.64/26"}
	b.put(&changed)
	b.check(tcp("in", "web", 80, false), tcp("out", "web", 80, true))

	// The same set in another namespace admits nobody to staging.
	b.remove(&changed)
	other := *set
	other.Namespace = "production"
	b.put(&other)
	b.check(tcp("in", "web", 80, false), tcp("out", "web", 80, false))

	// A GlobalNetworkSet serves global policies: egress from web to the
	// external database only.
	b.put(docsExample(t, "globalnetworkset.yaml"))
	b.check(tcp("web", "in", 80, false))
	b.setPolicies(`
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: to-external-db}
spec:
  selector: app == 'web'
  types: [Egress]
  egress: [{action: Allow, protocol: TCP, destination: {selector: role == 'external-database'}}]
`)
	b.check(tcp("web", "in", 80, true), tcp("web", "out", 80, false))
}

// TestNetworkSetsIPv6: a network set's IPv6 CIDRs go into the IPv6 IP
// sets: of the two external IPv6 clients only the one inside the set
// reaches the workload, and IPv4 stays as the set's IPv4 nets say.
func TestNetworkSetsIPv6(t *testing.T) {
	b := newBed(t, felix.Config{Policy: true, EnableIPv6: true})
	b.addExternal()
	b.addWorkload("web", 1, nil, map[string]string{"app": "web"})
	b.setPolicies(`
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: from-partners}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress: [{action: Allow, protocol: TCP, source: {selector: role == 'partner'}}]
`)
	set := resources.NewGlobalNetworkSet("partners")
	set.Labels = map[string]string{"role": "partner"}
	set.Spec.Nets = []string{"2001:db8:100::/112", "198.51.100.0/28"}
	b.put(set)
	b.check(v6(tcp("in", "web", 80, true)), v6(tcp("out", "web", 80, false)),
		tcp("in", "web", 80, true), tcp("out", "web", 80, false))
}
