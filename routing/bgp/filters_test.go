package bgp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// birdPeer runs BIRD on loopback address addr (AS asn) peering with this
// speaker at ours:oursPort, announcing statics; it returns BIRD and its port.
func birdPeer(t *testing.T, addr, ours netip.Addr, oursPort int, asn int, password string, statics ...string) (*testbed.BIRD, int) {
	t.Helper()
	port := freePort(t, addr.String())
	var conf strings.Builder
	conf.WriteString("protocol static statics { ipv4;\n")
	for _, s := range statics {
		fmt.Fprintf(&conf, "  route %s unreachable;\n", s)
	}
	conf.WriteString("}\n")
	pw := ""
	if password != "" {
		pw = fmt.Sprintf("password %q;", password)
	}
	fmt.Fprintf(&conf, "protocol bgp ours { local %s port %d as %d; neighbor %s port %d as 64512; multihop; %s\n"+
		"  ipv4 { import all; export where proto = \"statics\"; }; }\n", addr, port, asn, ours, oursPort, pw)
	x, err := testbed.RunBIRD(t.TempDir(), nil, addr, conf.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Stop)
	return x, port
}

func birdHas(x *testbed.BIRD, want map[string]bool) func() error {
	return func() error {
		got, err := x.Routes()
		if err != nil {
			return err
		}
		for p, in := range want {
			if got[netip.MustParsePrefix(p)] != in {
				return fmt.Errorf("BIRD has %s: %v, want %v (routes %v)", p, !in, in, got)
			}
		}
		return nil
	}
}

func learned(s *Speaker, want map[string]bool) func() error {
	return func() error {
		got := s.Learned()
		for p, in := range want {
			if _, ok := got[netip.MustParsePrefix(p)]; ok != in {
				return fmt.Errorf("learned %s: %v, want %v (learned %v)", p, ok, in, got)
			}
		}
		return nil
	}
}

// TestFiltersWithBIRD: a real BIRD peer, over a session authenticated with
// TCP MD5, does not receive the prefix an export rule rejects, and what an
// import rule rejects is not learned; removing the filter brings both (a
// soft reset, the session stays); a wrong password keeps the session down.
func TestFiltersWithBIRD(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "bird", "birdc")
	ours, birdAddr := netip.MustParseAddr("127.0.11.1"), netip.MustParseAddr("127.0.11.2")
	oursPort := freePort(t, ours.String())
	bird, birdPort := birdPeer(t, birdAddr, ours, oursPort, 64511, "s3cret", "10.200.1.0/24", "10.200.2.0/24")
	s, _ := startSpeaker(t, Config{})
	peer := Peer{Address: birdAddr, Port: birdPort, ASN: 64511, Type: PeerGlobal, Name: "bird", Multihop: true, Password: "s3cret"}
	filtered := map[netip.Addr]PeerPolicy{birdAddr: {
		Export: []FilterRule{{CIDR: netip.MustParsePrefix("10.128.1.0/26"), Op: OpEqual}},
		Import: []FilterRule{{CIDR: netip.MustParsePrefix("10.200.2.0/23"), Op: OpIn, MinLen: 24}},
	}}
	desired := func(pols map[netip.Addr]PeerPolicy, p Peer) Desired {
		return Desired{Global: &Global{ASN: 64512, RouterID: ours, ListenPort: oursPort}, Peers: []Peer{p},
			Exports: prefixes("10.128.0.0/26", "10.128.1.0/26"), Policies: pols}
	}
	s.SetDesired(desired(filtered, peer))
	eventually(t, "export filter", birdHas(bird, map[string]bool{"10.128.0.0/26": true, "10.128.1.0/26": false}))
	eventually(t, "import filter", learned(s, map[string]bool{"10.200.1.0/24": true, "10.200.2.0/24": false}))

	s.SetDesired(desired(nil, peer))
	eventually(t, "export unfiltered", birdHas(bird, map[string]bool{"10.128.0.0/26": true, "10.128.1.0/26": true}))
	eventually(t, "import unfiltered", learned(s, map[string]bool{"10.200.1.0/24": true, "10.200.2.0/24": true}))

	// NotIn: only routes inside 10.128.0.0/24 go out.
	s.SetDesired(desired(map[netip.Addr]PeerPolicy{birdAddr: {Export: []FilterRule{
		{CIDR: netip.MustParsePrefix("10.128.1.0/24"), Op: OpNotIn}}}}, peer))
	eventually(t, "NotIn", birdHas(bird, map[string]bool{"10.128.0.0/26": false, "10.128.1.0/26": true}))

	wrong := peer
	wrong.Password = "wrong"
	s.SetDesired(desired(nil, wrong))
	eventually(t, "session down with a wrong password", func() error {
		if bird.Established("ours") {
			return fmt.Errorf("session still up")
		}
		return nil
	})
	// A bounded wait for something that must not happen: GoBGP retries
	// every 5s.
	deadline := time.Now().Add(7 * time.Second)
	for time.Now().Before(deadline) {
		if bird.Established("ours") {
			t.Fatal("a session came up with the wrong TCP MD5 password")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestKeepOriginalNextHopWithBIRD: a route learned from one BIRD (eBGP)
// reaches another BIRD with this speaker as next hop, and with the first
// BIRD's address once the receiving peer has KeepNextHop.
func TestKeepOriginalNextHopWithBIRD(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "bird", "birdc")
	ours, recvAddr, srcAddr := netip.MustParseAddr("127.0.12.1"), netip.MustParseAddr("127.0.12.2"), netip.MustParseAddr("127.0.12.3")
	oursPort := freePort(t, ours.String())
	recv, recvPort := birdPeer(t, recvAddr, ours, oursPort, 64511, "")
	_, srcPort := birdPeer(t, srcAddr, ours, oursPort, 64513, "", "10.201.0.0/24")
	s, _ := startSpeaker(t, Config{})
	desired := func(keep bool) Desired {
		d := Desired{Global: &Global{ASN: 64512, RouterID: ours, ListenPort: oursPort}, Peers: []Peer{
			{Address: recvAddr, Port: recvPort, ASN: 64511, Type: PeerGlobal, Name: "recv", Multihop: true},
			{Address: srcAddr, Port: srcPort, ASN: 64513, Type: PeerGlobal, Name: "src", Multihop: true}}}
		if keep {
			d.Policies = map[netip.Addr]PeerPolicy{recvAddr: {KeepNextHop: true}}
		}
		return d
	}
	nextHop := func(want netip.Addr) func() error {
		return func() error {
			out, err := recv.Show("route", "all", "10.201.0.0/24")
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			if !strings.Contains(out, "BGP.next_hop: "+want.String()) {
				return fmt.Errorf("want next hop %s:\n%s", want, out)
			}
			return nil
		}
	}
	s.SetDesired(desired(false))
	eventually(t, "next hop self", nextHop(ours))
	s.SetDesired(desired(true))
	eventually(t, "next hop kept", nextHop(srcAddr))
}
