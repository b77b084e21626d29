package routing

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

func pool(name, cidr, ipip, vxlan string, nat bool) *resources.IPPool {
	p := resources.NewIPPool(name)
	p.Spec.CIDR, p.Spec.IPIPMode, p.Spec.VXLANMode, p.Spec.NATOutgoing = cidr, ipip, vxlan, nat
	p.Default()
	return p
}

func block(cidr, affinity string, allocs ...string) *model.Block {
	b := &model.Block{CIDR: netip.MustParsePrefix(cidr), Affinity: affinity}
	for _, a := range allocs { // "ip@node"
		ip, n, _ := strings.Cut(a, "@")
		b.Allocations = append(b.Allocations, model.Allocation{IP: netip.MustParseAddr(ip), Attrs: map[string]string{model.AttrNode: n}})
	}
	return b
}

// blockMap is the cluster's form of a list of blocks.
func blockMap(bs ...*model.Block) map[netip.Prefix]*model.Block {
	m := map[netip.Prefix]*model.Block{}
	for _, b := range bs {
		m[b.CIDR] = b
	}
	return m
}

func withVTEP(addr, mac string) func(*resources.Node) {
	return func(n *resources.Node) { n.Spec.IPv4VXLANTunnelAddr, n.Spec.VXLANTunnelMACAddr = addr, mac }
}

func routeStrings(rs []routes.Route) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

func TestExports(t *testing.T) {
	c := clusterOf(three...)
	c.blocks = blockMap(
		block("10.65.0.0/26", "host1", "10.65.0.1@host1", "10.65.0.2@host2"),
		block("10.65.0.64/26", "host2", "10.65.0.65@host2", "10.65.0.66@host1"),
		block("10.65.0.128/26", "", "10.65.0.129@host1"), // no affinity left
		block("fd00::/122", "host1"),
	)
	got := c.exports("host1")
	want := []netip.Prefix{netip.MustParsePrefix("10.65.0.0/26"), netip.MustParsePrefix("10.65.0.66/32"), netip.MustParsePrefix("10.65.0.129/32")}
	if !slices.Equal(got, want) {
		t.Errorf("exports = %v, want %v", got, want)
	}
}

func TestVXLANRoutes(t *testing.T) {
	objs := []resources.Resource{
		node("host1", "10.99.0.1/24", nil, withVTEP("10.65.0.1", "66:00:00:00:00:01")),
		node("host2", "10.99.0.2/24", nil, withVTEP("10.65.0.65", "66:00:00:00:00:02")),
		node("host3", "10.99.1.3/24", nil, withVTEP("10.65.0.129", "66:00:00:00:00:03")),
		node("host4", "10.99.0.4/24", nil), // no VTEP yet
		pool("always", "10.65.0.0/24", "Never", "Always", false),
		pool("cross", "10.66.0.0/24", "Never", "CrossSubnet", false),
		pool("bgp", "10.67.0.0/24", "Never", "Never", false),
	}
	c := clusterOf(objs...)
	c.blocks = blockMap(
		block("10.65.0.0/26", "host1", "10.65.0.1@host1", "10.65.0.5@host2"),
		block("10.65.0.64/26", "host2"),
		block("10.65.0.128/26", "host3"),
		block("10.65.0.192/26", "host4"),
		block("10.66.0.0/26", "host2"),
		block("10.66.0.64/26", "host3"),
		block("10.67.0.0/26", "host2"),
	)
	got := routeStrings(c.vxlanRoutes("host1", "vxlan.calico"))
	want := strings.Join([]string{
		"10.65.0.128/26 via 10.65.0.129 dev vxlan.calico onlink",
		"10.65.0.5/32 via 10.65.0.65 dev vxlan.calico onlink", // borrowed by host2 from our block
		"10.65.0.64/26 via 10.65.0.65 dev vxlan.calico onlink",
		"10.66.0.0/26 via 10.99.0.2",                            // CrossSubnet, same subnet: direct
		"10.66.0.64/26 via 10.65.0.129 dev vxlan.calico onlink", // CrossSubnet, other subnet
	}, "; ")
	if got != want {
		t.Errorf("routes:\n got %s\nwant %s", got, want)
	}
	dev, vteps := c.vxlanDevice("host1", encapOptions{vxlanVNI: 4096, vxlanPort: 4789, vxlanMTU: 1450})
	if dev == nil || dev.Addr.String() != "10.65.0.1" || dev.Local.String() != "10.99.0.1" || dev.MTU != 1450 || len(vteps) != 2 {
		t.Errorf("device %+v, vteps %v", dev, vteps)
	}
}

func TestBGPRoutes(t *testing.T) {
	c := clusterOf(node("host1", "10.99.0.1/24", nil), node("host2", "10.99.0.2/24", nil),
		pool("plain", "10.67.0.0/24", "Never", "Never", false),
		pool("ipip", "10.68.0.0/24", "Always", "Never", false),
		pool("ipipx", "10.69.0.0/24", "CrossSubnet", "Never", false),
		pool("vx", "10.65.0.0/24", "Never", "Always", false))
	c.blocks = blockMap(block("10.67.0.0/26", "host1"))
	learned := map[netip.Prefix]bgp.Route{}
	for _, l := range []string{"10.67.0.0/26@10.99.0.2", "10.67.0.64/26@10.99.0.2", "10.68.0.0/26@10.99.0.2",
		"10.69.0.0/26@10.99.0.2", "10.69.0.64/26@10.99.1.3", "10.65.0.0/26@10.99.0.2", "203.0.113.0/24@10.99.0.254",
		"10.67.0.128/26@10.99.0.1"} {
		p, nh, _ := strings.Cut(l, "@")
		learned[netip.MustParsePrefix(p)] = bgp.Route{Prefix: netip.MustParsePrefix(p), NextHop: netip.MustParseAddr(nh)}
	}
	for _, tc := range []struct {
		ipip bool
		want string
	}{
		{true, "10.67.0.64/26 via 10.99.0.2; 10.68.0.0/26 via 10.99.0.2 dev tunl0 onlink; 10.69.0.0/26 via 10.99.0.2; " +
			"10.69.0.64/26 via 10.99.1.3 dev tunl0 onlink; 203.0.113.0/24 via 10.99.0.254"},
		{false, "10.67.0.64/26 via 10.99.0.2; 10.68.0.0/26 via 10.99.0.2; 10.69.0.0/26 via 10.99.0.2; " +
			"10.69.0.64/26 via 10.99.1.3; 203.0.113.0/24 via 10.99.0.254"},
	} {
		got := routeStrings(c.bgpRoutes("host1", learned, encapOptions{ipipAvailable: tc.ipip}))
		if got != tc.want {
			t.Errorf("ipip=%v:\n got %s\nwant %s", tc.ipip, got, tc.want)
		}
	}
}
