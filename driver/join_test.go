package driver

import (
	"net/netip"
	"testing"

	"github.com/docker/go-plugins-helpers/network"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func routeSet(ss ...string) map[netip.Prefix]bool {
	m := map[netip.Prefix]bool{}
	for _, p := range prefixes(ss...) {
		m[p] = true
	}
	return m
}

func TestPlanJoin(t *testing.T) {
	conn := func(d string) network.StaticRoute {
		return network.StaticRoute{Destination: d, RouteType: routeConnected}
	}
	via := func(d, gw string) network.StaticRoute {
		return network.StaticRoute{Destination: d, RouteType: routeNextHop, NextHop: gw}
	}
	tests := []struct {
		name          string
		have          map[netip.Prefix]bool
		addrs, subnet []netip.Prefix
		gw4, gw6      string
		routes        []network.StaticRoute
	}{
		{name: "first interface, any pool", have: routeSet(), addrs: prefixes("192.168.0.5/32"),
			gw4: "169.254.1.1", routes: []network.StaticRoute{conn("169.254.1.1/32")}},
		{name: "first interface, subnet", have: routeSet(), addrs: prefixes("10.1.7.7/32"), subnet: prefixes("10.1.0.0/16"),
			gw4: "169.254.1.1", routes: []network.StaticRoute{conn("169.254.1.1/32"), via("10.1.0.0/16", "169.254.1.1")}},
		{name: "second interface", have: routeSet("169.254.1.1/32"), addrs: prefixes("10.2.0.3/32"), subnet: prefixes("10.2.0.0/16"),
			gw4: "169.254.1.2", routes: []network.StaticRoute{conn("169.254.1.2/32"), via("10.2.0.0/16", "169.254.1.2")}},
		{name: "reuses a freed gateway", have: routeSet("169.254.1.2/32"), addrs: prefixes("10.2.0.3/32"),
			gw4: "169.254.1.1", routes: []network.StaticRoute{conn("169.254.1.1/32")}},
		{name: "subnet already routed", have: routeSet("169.254.1.1/32", "10.2.0.0/16"), addrs: prefixes("10.2.0.3/32"), subnet: prefixes("10.2.0.0/16"),
			gw4: "169.254.1.2", routes: []network.StaticRoute{conn("169.254.1.2/32")}},
		{name: "dual stack", have: routeSet(), addrs: prefixes("10.1.0.1/32", "fd00::1/128"), subnet: prefixes("10.1.0.0/16", "fd00::/64"),
			gw4: "169.254.1.1", gw6: "fe80::ecee:eeff:feee:eeee",
			routes: []network.StaticRoute{conn("169.254.1.1/32"), via("10.1.0.0/16", "169.254.1.1"), conn("fe80::ecee:eeff:feee:eeee/128")}},
		{name: "second IPv6 interface", have: routeSet("fe80::ecee:eeff:feee:eeee/128"), addrs: prefixes("fd00::2/128"),
			gw6: "fe80::ecee:eeff:feee:eeee"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planJoin(tc.have, tc.addrs, tc.subnet)
			if err != nil {
				t.Fatal(err)
			}
			if got := addrString(p.gw4); got != tc.gw4 {
				t.Errorf("gw4 = %q, want %q", got, tc.gw4)
			}
			if got := addrString(p.gw6); got != tc.gw6 {
				t.Errorf("gw6 = %q, want %q", got, tc.gw6)
			}
			if len(p.routes) != len(tc.routes) {
				t.Fatalf("routes = %v, want %v", derefRoutes(p.routes), tc.routes)
			}
			for i := range tc.routes {
				if *p.routes[i] != tc.routes[i] {
					t.Errorf("route %d = %+v, want %+v", i, *p.routes[i], tc.routes[i])
				}
			}
		})
	}
}

func TestPlanJoinNoFreeGateway(t *testing.T) {
	have := map[netip.Prefix]bool{}
	gw := gatewayBase
	for range 254 {
		have[netip.PrefixFrom(gw, 32)] = true
		gw = gw.Next()
	}
	if _, err := planJoin(have, prefixes("10.0.0.1/32"), nil); err == nil {
		t.Fatal("want an error when 169.254.1.1-254 are all taken")
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func derefRoutes(rs []*network.StaticRoute) []network.StaticRoute {
	out := make([]network.StaticRoute, len(rs))
	for i, r := range rs {
		out[i] = *r
	}
	return out
}
