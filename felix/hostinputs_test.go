package felix

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/routes"
)

func TestTunnelPeersOf(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.3")
	tp := tunnelPeersOf(&routes.Desired{
		VXLAN: &routes.VXLAN{}, VTEPs: []routes.VTEP{{IP: b}, {IP: a}, {IP: a}, {}},
		Routes: []routes.Route{{Gw: b, Dev: routes.IPIPDevice}, {Gw: a}, {Gw: a, Dev: routes.IPIPDevice}},
	})
	if tp.VXLANPort != routes.DefaultVXLANPort || !slices.Equal(tp.VXLANPeers, []netip.Addr{a, b}) ||
		!slices.Equal(tp.IPIPPeers, []netip.Addr{a, b}) {
		t.Errorf("tunnelPeersOf = %+v", tp)
	}
	if tp := tunnelPeersOf(nil); tp.VXLANPort != 0 || tp.VXLANPeers != nil {
		t.Errorf("no routing state: %+v", tp)
	}
}
