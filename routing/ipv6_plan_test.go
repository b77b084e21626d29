package routing

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

func withIPv6(ip string) func(*resources.Node) {
	return func(n *resources.Node) { n.Spec.BGP.IPv6Address = ip }
}

var threeDual = []resources.Resource{
	node("host1", "10.99.0.1/24", nil, withIPv6("fd00:99::1/64")),
	node("host2", "10.99.0.2/24", map[string]string{"rr": "true"}, withIPv6("fd00:99::2/64")),
	node("host3", "10.99.0.3/24", nil), // no IPv6
}

func TestDesiredPeersIPv6(t *testing.T) {
	meshOff := config("default", ptr(false), nil, 0)
	for _, tc := range []struct {
		name string
		me   string
		objs []resources.Resource
		want string
	}{
		{"mesh over both families where both ends have IPv6", "host1", nil,
			"10.99.0.2/64512/mesh/host2 10.99.0.3/64512/mesh/host3 fd00:99::2/64512/mesh/host2"},
		{"the higher IPv6 address is passive", "host2", nil,
			"10.99.0.1/64512/mesh/host1+passive 10.99.0.3/64512/mesh/host3 fd00:99::1/64512/mesh/host1+passive"},
		{"no IPv6 here: IPv4 only", "host3", nil,
			"10.99.0.1/64512/mesh/host1+passive 10.99.0.2/64512/mesh/host2+passive"},
		{"global IPv6 peer", "host1",
			[]resources.Resource{meshOff, peer("tor6", resources.BGPPeerSpec{PeerIP: "fd00:99::fe", ASNumber: 64511})},
			"fd00:99::fe/64511/global/tor6"},
		{"IPv6 peer ignored on a node without IPv6", "host3",
			[]resources.Resource{meshOff, peer("tor6", resources.BGPPeerSpec{PeerIP: "fd00:99::fe", ASNumber: 64511})}, ""},
		{"IPv6 peer with port", "host1",
			[]resources.Resource{meshOff, peer("tor6", resources.BGPPeerSpec{Node: "host1", PeerIP: "[fd00:99::fe]:1790", ASNumber: 64511})},
			"fd00:99::fe/64511/node/tor6:1790"},
		{"peerIP naming a node's IPv6 address", "host1",
			[]resources.Resource{meshOff, peer("p", resources.BGPPeerSpec{PeerIP: "fd00:99::2", ASNumber: 64512})},
			"fd00:99::2/64512/global/p"},
		{"peerSelector peers over both families", "host1",
			[]resources.Resource{meshOff, peer("rr", resources.BGPPeerSpec{NodeSelector: "all()", PeerSelector: "rr == 'true'"})},
			"10.99.0.2/64512/node/rr fd00:99::2/64512/node/rr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clusterOf(append(append([]resources.Resource{}, threeDual...), tc.objs...)...)
			if got := describe(c.desiredPeers(tc.me)); got != tc.want {
				t.Errorf("peers of %s:\n got %s\nwant %s", tc.me, got, tc.want)
			}
		})
	}
}

func TestExportsIPv6(t *testing.T) {
	blocks := blockMap(
		block("10.65.0.0/26", "host1"),
		block("fd00:230::/122", "host1", "fd00:230::1@host1"),
		block("fd00:230::40/122", "host2", "fd00:230::41@host2", "fd00:230::42@host1"),
	)
	for _, tc := range []struct {
		me   string
		want string
	}{
		{"host1", "10.65.0.0/26 fd00:230::/122 fd00:230::42/128"},
		{"host3", ""}, // no IPv6 address: no IPv6 exports
	} {
		c := clusterOf(threeDual...)
		c.blocks = blocks
		var got []string
		for _, p := range c.exports(tc.me) {
			got = append(got, p.String())
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("exports of %s = %q, want %q", tc.me, s, tc.want)
		}
	}
}

func TestBGPRoutesIPv6(t *testing.T) {
	c := clusterOf(append(slices.Clone(threeDual), pool("v6", "fd00:230::/64", "", "", false))...)
	c.blocks = blockMap(block("fd00:230::/122", "host1"))
	learned := map[netip.Prefix]bgp.Route{}
	for _, l := range []string{"fd00:230::40/122@fd00:99::2", "fd00:230::/122@fd00:99::2", "fd00:230::80/122@fd00:99::1",
		"fd00:230::99/128@fd00:99::2", "fd00:231::/122@10.99.0.2", "10.65.0.0/26@fd00:99::2"} {
		p, nh, _ := strings.Cut(l, "@")
		learned[netip.MustParsePrefix(p)] = bgp.Route{Prefix: netip.MustParsePrefix(p), NextHop: netip.MustParseAddr(nh)}
	}
	got := routeStrings(c.bgpRoutes("host1", learned, encapOptions{ipipAvailable: true}))
	want := "fd00:230::40/122 via fd00:99::2; fd00:230::99/128 via fd00:99::2"
	if got != want {
		t.Errorf("routes:\n got %s\nwant %s", got, want)
	}
}
