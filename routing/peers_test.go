package routing

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

func node(name, ip string, labels map[string]string, mods ...func(*resources.Node)) *resources.Node {
	n := resources.NewNode(name)
	n.Labels = labels
	n.Spec.BGP = &resources.NodeBGPSpec{IPv4Address: ip}
	for _, m := range mods {
		m(n)
	}
	return n
}

func withAS(as resources.ASNumber) func(*resources.Node) {
	return func(n *resources.Node) { n.Spec.BGP.ASNumber = &as }
}

func withCluster(id string) func(*resources.Node) {
	return func(n *resources.Node) { n.Spec.BGP.RouteReflectorClusterID = id }
}

func peer(name string, spec resources.BGPPeerSpec) *resources.BGPPeer {
	p := resources.NewBGPPeer(name)
	p.Spec = spec
	return p
}

func config(name string, mesh *bool, as *resources.ASNumber, port uint16) *resources.BGPConfiguration {
	c := resources.NewBGPConfiguration(name)
	c.Spec.NodeToNodeMeshEnabled, c.Spec.ASNumber, c.Spec.ListenPort = mesh, as, port
	return c
}

func ptr[T any](v T) *T { return &v }

func clusterOf(objs ...resources.Resource) *cluster {
	c := newCluster()
	var ups []model.Update
	for _, o := range objs {
		ups = append(ups, model.Update{Kind: o.GetTypeMeta().Kind, Name: o.Meta().Name, Object: o})
	}
	c.apply(model.SyncEvent{Full: true, Updates: ups})
	return c
}

// describe renders peers compactly: "addr/asn/type/name[+rr][+passive][:port]".
func describe(ps []bgp.Peer) string {
	var out []string
	for _, p := range ps {
		s := fmt.Sprintf("%s/%d/%s/%s", p.Address, p.ASN, p.Type, p.Name)
		if p.RRClient {
			s += "+rr(" + p.ClusterID + ")"
		}
		if p.Passive {
			s += "+passive"
		}
		if p.Port != 0 {
			s += fmt.Sprintf(":%d", p.Port)
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

var three = []resources.Resource{
	node("host1", "10.99.0.1/24", map[string]string{"rack": "a"}),
	node("host2", "10.99.0.2/24", map[string]string{"rack": "a", "route-reflector": "true"}),
	node("host3", "10.99.0.3/24", map[string]string{"rack": "b"}),
}

func TestDesiredPeers(t *testing.T) {
	meshOff := config("default", ptr(false), nil, 0)
	for _, tc := range []struct {
		name string
		me   string
		objs []resources.Resource
		want string
	}{
		{"full mesh by default", "host2", nil,
			"10.99.0.1/64512/mesh/host1+passive 10.99.0.3/64512/mesh/host3"},
		{"mesh off: no peers", "host1", []resources.Resource{meshOff}, ""},
		{"default AS and port from BGPConfiguration", "host1",
			[]resources.Resource{config("default", nil, ptr(resources.ASNumber(64511)), 1790)},
			"10.99.0.2/64511/mesh/host2:1790 10.99.0.3/64511/mesh/host3:1790"},
		{"node AS wins over the default", "host1",
			[]resources.Resource{config("default", nil, ptr(resources.ASNumber(64511)), 0), node("host3", "10.99.0.3/24", nil, withAS(65003))},
			"10.99.0.2/64511/mesh/host2 10.99.0.3/65003/mesh/host3"},
		{"global peer applies to every node", "host3",
			[]resources.Resource{meshOff, peer("tor", resources.BGPPeerSpec{PeerIP: "10.99.0.254", ASNumber: 64511})},
			"10.99.0.254/64511/global/tor"},
		{"peer with port", "host3",
			[]resources.Resource{meshOff, peer("tor", resources.BGPPeerSpec{PeerIP: "10.99.0.254:1790", ASNumber: 64511})},
			"10.99.0.254/64511/global/tor:1790"},
		{"node-specific peer for another node", "host3",
			[]resources.Resource{meshOff, peer("p", resources.BGPPeerSpec{Node: "host1", PeerIP: "10.99.0.254", ASNumber: 64511})}, ""},
		{"node-specific peer for this node", "host1",
			[]resources.Resource{meshOff, peer("p", resources.BGPPeerSpec{Node: "host1", PeerIP: "10.99.0.254", ASNumber: 64511})},
			"10.99.0.254/64511/node/p"},
		{"nodeSelector", "host3",
			[]resources.Resource{meshOff, peer("p", resources.BGPPeerSpec{NodeSelector: "rack == 'b'", PeerIP: "10.98.0.1", ASNumber: 65000})},
			"10.98.0.1/65000/node/p"},
		{"peerSelector from a client", "host1",
			[]resources.Resource{meshOff, node("host2", "10.99.0.2/24", map[string]string{"route-reflector": "true"}, withCluster("224.0.0.1")),
				peer("rr", resources.BGPPeerSpec{NodeSelector: "all()", PeerSelector: "route-reflector == 'true'"})},
			"10.99.0.2/64512/node/rr"},
		{"peerSelector reversed on the reflector, which reflects for its clients", "host2",
			[]resources.Resource{meshOff, node("host2", "10.99.0.2/24", map[string]string{"route-reflector": "true"}, withCluster("224.0.0.1")),
				peer("rr", resources.BGPPeerSpec{NodeSelector: "all()", PeerSelector: "route-reflector == 'true'"})},
			"10.99.0.1/64512/node/rr+rr(224.0.0.1)+passive 10.99.0.3/64512/node/rr+rr(224.0.0.1)"},
		{"reflectors of one cluster are not each other's clients", "host2",
			[]resources.Resource{meshOff,
				node("host1", "10.99.0.1/24", map[string]string{"route-reflector": "true"}, withCluster("224.0.0.1")),
				node("host2", "10.99.0.2/24", map[string]string{"route-reflector": "true"}, withCluster("224.0.0.1")),
				peer("rr", resources.BGPPeerSpec{NodeSelector: "all()", PeerSelector: "route-reflector == 'true'"})},
			"10.99.0.1/64512/node/rr+passive 10.99.0.3/64512/node/rr+rr(224.0.0.1)"},
		{"explicit peer wins over the mesh for the same address", "host1",
			[]resources.Resource{peer("p", resources.BGPPeerSpec{Node: "host1", PeerIP: "10.99.0.3", ASNumber: 65003})},
			"10.99.0.2/64512/mesh/host2 10.99.0.3/65003/node/p"},
		{"never a session to itself", "host1",
			[]resources.Resource{peer("self", resources.BGPPeerSpec{PeerIP: "10.99.0.1", ASNumber: 64512})},
			"10.99.0.2/64512/mesh/host2 10.99.0.3/64512/mesh/host3"},
		{"node without an address has no peers", "host4",
			[]resources.Resource{resources.NewNode("host4")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clusterOf(append(append([]resources.Resource{}, three...), tc.objs...)...)
			if got := describe(c.desiredPeers(tc.me)); got != tc.want {
				t.Errorf("peers of %s:\n got %s\nwant %s", tc.me, got, tc.want)
			}
		})
	}
}

func TestASNOf(t *testing.T) {
	c := clusterOf(three...)
	if got := c.asnOf(c.nodes["host1"]); got != 64512 {
		t.Errorf("default AS = %d", got)
	}
	c = clusterOf(append(three, config("default", nil, ptr(resources.ASNumber(64511)), 0))...)
	if got := c.asnOf(c.nodes["host1"]); got != 64511 {
		t.Errorf("configured default AS = %d", got)
	}
}

func TestParsePeerIP(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.1": "10.0.0.1:0", "10.0.0.1:1790": "10.0.0.1:1790", "[fd00::1]:179": "[fd00::1]:179"} {
		a, port, ok := parsePeerIP(in)
		if got := netip.AddrPortFrom(a, uint16(port)).String(); !ok || got != want {
			t.Errorf("%s -> %s %v, want %s", in, got, ok, want)
		}
	}
}
