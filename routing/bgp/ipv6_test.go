package bgp

import (
	"fmt"
	"net/netip"
	"testing"
)

// TestDualStackExchangesBothFamilies peers two speakers over IPv4 and over
// IPv6 (both on ::1, different ports) and checks each family's routes come
// over with the right next hop.
func TestDualStackExchangesBothFamilies(t *testing.T) {
	t.Parallel()
	v6 := netip.MustParseAddr("::1")
	a4, b4 := netip.MustParseAddr("127.0.7.11"), netip.MustParseAddr("127.0.7.12")
	portA, portB := freePort(t, a4.String()), freePort(t, b4.String())
	if p := freePortAt(t, "[::1]"); p == 0 {
		t.Skip("no IPv6 loopback")
	}
	a, _ := startSpeaker(t, Config{})
	b, _ := startSpeaker(t, Config{})
	a.SetDesired(Desired{
		Global: &Global{ASN: 64512, RouterID: a4, IPv6: v6, ListenPort: portA},
		Peers: []Peer{{Address: b4, Port: portB, ASN: 64512, Type: PeerMesh, Name: "b"},
			{Address: v6, Port: portB, ASN: 64512, Type: PeerMesh, Name: "b"}},
		Exports: prefixes("10.1.0.0/26", "fd00:1::/122"),
	})
	b.SetDesired(Desired{
		Global: &Global{ASN: 64512, RouterID: b4, IPv6: v6, ListenPort: portB},
		Peers: []Peer{{Address: a4, Port: portA, ASN: 64512, Type: PeerMesh, Name: "a", Passive: true},
			{Address: v6, Port: portA, ASN: 64512, Type: PeerMesh, Name: "a", Passive: true}},
		Exports: prefixes("10.2.0.0/26", "fd00:2::/122", "fd00:3::5/128"),
	})
	want := func(s *Speaker, routes map[string]netip.Addr) func() error {
		return func() error {
			got := s.Learned()
			if len(got) != len(routes) {
				return fmt.Errorf("learned %v, want %v", got, routes)
			}
			for p, nh := range routes {
				if r, ok := got[netip.MustParsePrefix(p)]; !ok || r.NextHop != nh {
					return fmt.Errorf("learned %v, want %s via %s", got, p, nh)
				}
			}
			return nil
		}
	}
	eventually(t, "A learns B's routes", want(a, map[string]netip.Addr{"10.2.0.0/26": b4, "fd00:2::/122": v6, "fd00:3::5/128": v6}))
	eventually(t, "B learns A's routes", want(b, map[string]netip.Addr{"10.1.0.0/26": a4, "fd00:1::/122": v6}))
	// Without an IPv6 address, IPv6 exports are not announced.
	a.SetDesired(Desired{
		Global:  &Global{ASN: 64512, RouterID: a4, ListenPort: portA},
		Peers:   []Peer{{Address: b4, Port: portB, ASN: 64512, Type: PeerMesh, Name: "b"}},
		Exports: prefixes("10.1.0.0/26", "fd00:1::/122"),
	})
	eventually(t, "B drops A's IPv6 route", want(b, map[string]netip.Addr{"10.1.0.0/26": a4}))
}
