package driver

import (
	"net/netip"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestSourceRouteOf(t *testing.T) {
	wep := func(gw4, gw6 string, nets ...string) *resources.WorkloadEndpoint {
		return &resources.WorkloadEndpoint{Spec: resources.WorkloadEndpointSpec{IPNetworks: nets, IPv4Gateway: gw4, IPv6Gateway: gw6}}
	}
	for _, tc := range []struct {
		name        string
		wep         *resources.WorkloadEndpoint
		ok          bool
		addr, addr6 string
		table       int
	}{
		{"IPv4 only", wep("169.254.1.2", "", "10.0.0.1/32"), true, "10.0.0.1", "", 1002},
		{"dual stack", wep("169.254.1.3", "fe80::ecee:eeff:feee:eeee", "10.0.0.1/32", "fd00::1/128"), true, "10.0.0.1", "fd00::1", 1003},
		{"IPv6 address not joined", wep("169.254.1.1", "", "10.0.0.1/32", "fd00::1/128"), true, "10.0.0.1", "", 1001},
		{"gateway outside 169.254.1.0/24", wep("10.0.0.254", "", "10.0.0.1/32"), false, "", "", 0},
		{"no IPv4 address", wep("169.254.1.1", "fe80::ecee:eeff:feee:eeee", "fd00::1/128"), false, "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := sourceRouteOf(tc.wep)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tc.ok, r)
			}
			if !ok {
				return
			}
			if r.Addr.String() != tc.addr || (tc.addr6 == "" && r.Addr6.IsValid()) || (tc.addr6 != "" && r.Addr6 != netip.MustParseAddr(tc.addr6)) || r.Table() != tc.table {
				t.Errorf("sourceRouteOf = %+v (table %d), want addr %s addr6 %q table %d", r, r.Table(), tc.addr, tc.addr6, tc.table)
			}
		})
	}
}
