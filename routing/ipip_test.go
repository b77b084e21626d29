package routing_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestIPIPAcrossHosts: an IPIP Always pool's routes go through tunl0.
// It needs the kernel's IPIP support; without it the test is skipped
// (and the daemon's status says why, which is checked).
func TestIPIPAcrossHosts(t *testing.T) {
	b := sharedBed(t)
	ok, reason := routes.ProbeIPIP(b.Hosts[0].NS.Path)
	pool := resources.NewIPPool("ipip")
	pool.Spec.CIDR, pool.Spec.IPIPMode = "10.242.0.0/16", resources.EncapAlways
	apply(t, b, pool)
	if !ok {
		eventually(t, "status reports IPIP unavailable", func() error {
			st, err := b.Hosts[0].Status()
			if err != nil {
				return err
			}
			ip := st.Encapsulation.IPIP
			if !ip.Enabled || ip.Available || !strings.Contains(ip.Reason, "IPIP") {
				return fmt.Errorf("ipip status %+v", ip)
			}
			return nil
		})
		t.Skipf("IPIP unavailable: %s", reason)
	}
	net := network(t, b, "ipip", netip.MustParsePrefix("10.242.0.0/16"))
	var wls []*testbed.Workload
	for _, h := range b.Hosts {
		wls = append(wls, workload(t, h, net, nil))
	}
	h1, h2 := b.Hosts[0], b.Hosts[1]
	for _, blk := range blocksIn(t, b, h2.Name, netip.MustParsePrefix("10.242.0.0/16")) {
		eventually(t, "route through tunl0", func() error {
			r, err := ourRoute(h1, blk)
			if err == nil && !strings.Contains(r, "dev tunl0") {
				return fmt.Errorf("route %q is not through tunl0", r)
			}
			return err
		})
	}
	allReach(t, wls...)
}
