package felix

import (
	"net/netip"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// newWorkload creates workload n (felixtest.DefaultSpec) behind host with
// felix's own veths.
func newWorkload(t *testing.T, host *testNS, v *Veths, n int) *felixtest.Workload {
	t.Helper()
	return felixtest.NewWorkload(t, host, v.CreateVeth, felixtest.DefaultSpec(n))
}

func endpointOf(w *felixtest.Workload) Endpoint {
	return Endpoint{ID: w.HostSide, IfaceName: w.HostSide, MAC: w.MAC,
		IPv4Nets: []netip.Prefix{netip.PrefixFrom(w.V4, 32)},
		IPv6Nets: []netip.Prefix{netip.PrefixFrom(w.V6, 128)}}
}

func TestEndToEndWorkloadsReachEachOther(t *testing.T) {
	host := felixtest.NewNS(t, "e2ehost")
	felixtest.AddUplink(t, host)
	v := newTestVeths(t, host)
	d := startDataplane(t, host, Config{EnableIPv6: true})
	// Mimic Docker: FORWARD policy DROP for both IP versions.
	felixtest.ForwardDrop(t, host, string(d.Status().Backend))

	a, b := newWorkload(t, host, v, 1), newWorkload(t, host, v, 2)
	d.OnEndpointUpdate(endpointOf(a))
	d.OnEndpointUpdate(endpointOf(b))
	d.SetLocalBlocks([]netip.Prefix{netip.MustParsePrefix("10.65.1.0/26")})
	waitSynced(t, d)

	for _, tc := range []struct {
		name     string
		from, to *testNS
		addr     netip.Addr
	}{
		{"A to B v4", a.NS, b.NS, b.V4},
		{"B to A v4", b.NS, a.NS, a.V4},
		{"A to B v6", a.NS, b.NS, b.V6},
		{"host to A v4", host, a.NS, a.V4},
		{"host to B v4", host, b.NS, b.V4},
		{"host to B v6", host, b.NS, b.V6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := felixtest.Serve(t, tc.to, netip.AddrPortFrom(tc.addr, 0))
			felixtest.Eventually(t, converge, tc.name, func() error { return felixtest.Reach(tc.from, srv) })
		})
	}

	// An unassigned address of the local block is blackholed, not sent out.
	srv := felixtest.Serve(t, b.NS, netip.AddrPortFrom(b.V4, 0))
	if err := felixtest.Reach(a.NS, netip.AddrPortFrom(netip.MustParseAddr("10.65.1.9"), srv.Port())); err == nil {
		t.Error("reached an unassigned address")
	}
}
