package bgp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// birdWithCommunities runs BIRD (AS asn) at addr peering with this speaker,
// announcing each static route with the communities given in BIRD's
// syntax ("" for none).
func birdWithCommunities(t *testing.T, addr, ours netip.Addr, oursPort, asn int, statics map[string]string) (*testbed.BIRD, int) {
	t.Helper()
	port := freePort(t, addr.String())
	var conf strings.Builder
	conf.WriteString("protocol static statics { ipv4;\n")
	for p, comm := range statics {
		fmt.Fprintf(&conf, "  route %s unreachable { %s };\n", p, comm)
	}
	conf.WriteString("}\n")
	fmt.Fprintf(&conf, "protocol bgp ours { local %s port %d as %d; neighbor %s port %d as 64512; multihop;\n"+
		"  ipv4 { import all; export where proto = \"statics\"; }; }\n", addr, port, asn, ours, oursPort)
	x, err := testbed.RunBIRD(t.TempDir(), nil, addr, conf.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Stop)
	return x, port
}

// TestFilterOperationsWithBIRD: real BIRD peers see what BGPFilter rules
// match and do. From "src" (AS 64513) a route with a standard community is
// refused on import, one with a large community is accepted with a
// priority, one without any is learned with none. To "recv" (AS 64511): an
// own route goes out with a standard and a large community added and its
// AS path prepended (on eBGP, before the AS GoBGP added: see
// FilterRule.Prepend); a learned route (source RemotePeers) of that
// priority goes out with a community added and no trace of the priority;
// other learned routes are refused (source RemotePeers) while own routes
// pass; an interface rule keeps back the own route it names.
func TestFilterOperationsWithBIRD(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "bird", "birdc")
	ours, recvAddr, srcAddr := netip.MustParseAddr("127.0.13.1"), netip.MustParseAddr("127.0.13.2"), netip.MustParseAddr("127.0.13.3")
	oursPort := freePort(t, ours.String())
	recv, recvPort := birdPeer(t, recvAddr, ours, oursPort, 64511, "")
	_, srcPort := birdWithCommunities(t, srcAddr, ours, oursPort, 64513, map[string]string{
		"10.202.1.0/24": "bgp_community.add((64513,1));",
		"10.202.2.0/24": "bgp_large_community.add((64513,2,3));",
		"10.202.3.0/24": "",
	})
	s, _ := startSpeaker(t, Config{})
	s.SetDesired(Desired{Global: &Global{ASN: 64512, RouterID: ours, ListenPort: oursPort},
		Exports: prefixes("10.128.0.0/26", "10.128.1.0/26", "10.128.2.0/26"),
		Peers: []Peer{
			{Address: recvAddr, Port: recvPort, ASN: 64511, Type: PeerGlobal, Name: "recv", Multihop: true},
			{Address: srcAddr, Port: srcPort, ASN: 64513, Type: PeerGlobal, Name: "src", Multihop: true}},
		Policies: map[netip.Addr]PeerPolicy{
			srcAddr: {Import: []FilterRule{
				{Community: "64513:1"},
				{Community: "64513:2:3", Accept: true, SetPriority: 77},
			}},
			recvAddr: {Export: []FilterRule{
				{OwnOnly: true, Own: prefixes("10.128.2.0/26", "10.99.0.0/24")},
				{CIDR: netip.MustParsePrefix("10.128.0.0/26"), Op: OpEqual, Accept: true,
					AddCommunities: []string{"64512:10", "64512:20:30"}, Prepend: []uint32{64512, 65000, 65000}},
				{FromPeers: true, Priority: 77, Accept: true, AddCommunities: []string{"64512:77"}},
				{FromPeers: true},
			}},
		}})

	eventually(t, "import by community", learned(s, map[string]bool{"10.202.1.0/24": false, "10.202.2.0/24": true, "10.202.3.0/24": true}))
	eventually(t, "priority set on import", func() error {
		got := s.Learned()
		if p := got[netip.MustParsePrefix("10.202.2.0/24")].Priority; p != 77 {
			return fmt.Errorf("priority of 10.202.2.0/24 = %d, want 77", p)
		}
		if p := got[netip.MustParsePrefix("10.202.3.0/24")].Priority; p != 0 {
			return fmt.Errorf("priority of 10.202.3.0/24 = %d, want none", p)
		}
		return nil
	})
	eventually(t, "exports: source RemotePeers and interface", birdHas(recv, map[string]bool{
		"10.128.0.0/26": true, "10.128.1.0/26": true, "10.128.2.0/26": false, "10.202.2.0/24": true, "10.202.3.0/24": false}))
	eventually(t, "communities added and AS path prepended", recv.RouteShows("10.128.0.0/26",
		[]string{"BGP.as_path: 64512 65000 65000 64512", "(64512,10)", "(64512, 20, 30)"}))
	eventually(t, "learned route: community added, priority not sent", recv.RouteShows("10.202.2.0/24",
		[]string{"BGP.as_path: 64512 64513", "(64512,77)", "(64513, 2, 3)"}, "4294967295"))
	eventually(t, "unmodified own route", recv.RouteShows("10.128.1.0/26", []string{"BGP.as_path: 64512\n"}, "BGP.community"))
}
