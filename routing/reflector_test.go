package routing_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func meshOff() *resources.BGPConfiguration {
	c := resources.NewBGPConfiguration("default")
	off := false
	c.Spec.NodeToNodeMeshEnabled = &off
	return c
}

// sessions waits until a host reports exactly these peers (address/type),
// all established.
func sessions(t *testing.T, h *testbed.Host, want ...string) {
	t.Helper()
	eventually(t, h.Name+" sessions", func() error {
		st, err := h.Status()
		if err != nil {
			return err
		}
		if st.BGP == nil {
			return fmt.Errorf("no BGP status")
		}
		var got []string
		for _, p := range st.BGP.Peers {
			if p.State != "Established" {
				return fmt.Errorf("peer %s is %s", p.PeerIP, p.State)
			}
			got = append(got, p.PeerIP+"/"+p.Type)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			return fmt.Errorf("peers %v, want %v", got, want)
		}
		return nil
	})
}

// setNode changes a Node (labels, RR cluster ID) and restores it after.
func setNode(t *testing.T, b *testbed.Bed, name string, change func(*resources.Node)) {
	t.Helper()
	update := func(f func(*resources.Node)) error {
		for range 5 {
			n, err := datastoreNode(b, name)
			if err != nil {
				return err
			}
			f(n)
			if _, err = b.Store.Update(ctx(t), n); err == nil {
				return nil
			}
		}
		return fmt.Errorf("node %s kept changing", name)
	}
	if err := update(change); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := update(func(n *resources.Node) {
			delete(n.Labels, "route-reflector")
			n.Spec.BGP.RouteReflectorClusterID = ""
		}); err != nil {
			t.Errorf("restore node %s: %v", name, err)
		}
	})
}

func TestRouteReflectorNode(t *testing.T) {
	b := sharedBed(t)
	net := network(t, b, "rr", netipPrefix(""))
	h1, h2, h3 := b.Hosts[0], b.Hosts[1], b.Hosts[2]
	setNode(t, b, h1.Name, func(n *resources.Node) {
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels["route-reflector"] = "true"
		n.Spec.BGP.RouteReflectorClusterID = "224.0.0.1"
	})
	rr := resources.NewBGPPeer("peer-with-route-reflectors")
	rr.Spec.NodeSelector, rr.Spec.PeerSelector = "all()", "route-reflector == 'true'"
	apply(t, b, meshOff(), rr)
	ip := func(h *testbed.Host) string { return h.IP.Addr().String() }
	sessions(t, h1, ip(h2)+"/node", ip(h3)+"/node")
	sessions(t, h2, ip(h1)+"/node")
	sessions(t, h3, ip(h1)+"/node")
	st, _ := h1.Status()
	for _, p := range st.BGP.Peers {
		if !p.RouteReflectorClient {
			t.Errorf("the reflector does not treat %s as its client", p.PeerIP)
		}
	}
	w2, w3 := workload(t, h2, net, nil), workload(t, h3, net, nil)
	// host2 and host3 do not peer: host3's block reaches host2 reflected,
	// with host3 as next hop.
	for _, blk := range blocksOf(t, b, h3.Name) {
		eventually(t, "reflected route", func() error {
			r, err := ourRoute(h2, blk)
			if err == nil && !strings.Contains(r, "via "+ip(h3)) {
				return fmt.Errorf("route %q is not via host3", r)
			}
			return err
		})
	}
	allReach(t, w2, w3, workload(t, h1, net, nil))
}

// birdPeers is a BIRD configuration peering with every host.
func birdPeers(b *testbed.Bed, as uint32, extra string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "protocol static announced { ipv4; route 198.51.100.0/24 unreachable; }\n")
	for _, h := range b.Hosts {
		fmt.Fprintf(&sb, "protocol bgp %s { local as %d; neighbor %s as 64512; %s ipv4 { import all; export where proto = \"announced\"; }; }\n",
			h.Name, as, h.IP.Addr(), extra)
	}
	return sb.String()
}

func TestExternalBIRDPeerAddedAndRemoved(t *testing.T) {
	b := sharedBed(t)
	requireBed(t, "bird", "birdc")
	net := network(t, b, "bird", netipPrefix(""))
	for _, h := range b.Hosts {
		workload(t, h, net, nil) // every host has a block
	}
	bird, err := b.StartBIRD("bird", 250, birdPeers(b, 64511, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bird.Close() })
	announced := netip.MustParsePrefix("198.51.100.0/24")

	peer := resources.NewBGPPeer("tor")
	peer.Spec.PeerIP, peer.Spec.ASNumber = bird.IP.String(), 64511
	apply(t, b, peer)
	for _, h := range b.Hosts {
		eventually(t, h.Name+" installs BIRD's route", func() error {
			r, err := ourRoute(h, announced)
			if err == nil && !strings.Contains(r, "via "+bird.IP.String()) {
				return fmt.Errorf("route %q is not via BIRD", r)
			}
			return err
		})
	}
	eventually(t, "BIRD learns every host's blocks", func() error {
		got, err := bird.Routes()
		if err != nil {
			return err
		}
		for _, h := range b.Hosts {
			for _, blk := range blocksOf(t, b, h.Name) {
				if !got[blk] {
					return fmt.Errorf("BIRD lacks %s of %s: %v", blk, h.Name, got)
				}
			}
		}
		return nil
	})
	st, _ := b.Hosts[0].Status()
	found := false
	for _, p := range st.BGP.Peers {
		found = found || p.PeerIP == bird.IP.String() && p.Type == "global" && p.Name == "tor"
	}
	if !found {
		t.Errorf("status lacks the global peer: %+v", st.BGP.Peers)
	}

	// Removed at runtime: sessions go, and so does BIRD's route.
	if _, err := b.Store.Delete(ctx(t), resources.KindBGPPeer, "", "tor", ""); err != nil {
		t.Fatal(err)
	}
	for _, h := range b.Hosts {
		eventually(t, h.Name+" drops BIRD's route", func() error {
			if r, err := ourRoute(h, announced); err == nil {
				return fmt.Errorf("still routed: %s", r)
			}
			return nil
		})
	}
	eventually(t, "BIRD forgets the hosts' routes", func() error {
		got, err := bird.Routes()
		if err != nil {
			return err
		}
		if len(got) != 1 || !got[announced] {
			return fmt.Errorf("BIRD still has %v", got)
		}
		return nil
	})
}
