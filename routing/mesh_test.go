package routing_test

import (
	"net/netip"

	"fmt"
	"github.com/calico-docker/calico-libnetwork/resources"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
)

func TestMeshWorkloadsReachAcrossHosts(t *testing.T) {
	b := sharedBed(t)
	net := network(t, b, "mesh", netipPrefix(""))
	var wls []*testbed.Workload
	for _, h := range b.Hosts {
		wls = append(wls, workload(t, h, net, nil))
	}
	// Routes to every other host's blocks come from BGP (protocol 81),
	// via that host.
	for _, h := range b.Hosts {
		for _, other := range b.Hosts {
			if other == h {
				continue
			}
			for _, blk := range blocksOf(t, b, other.Name) {
				eventually(t, fmt.Sprintf("%s routes %s", h.Name, blk), func() error {
					r, err := ourRoute(h, blk)
					if err == nil && !strings.Contains(r, "via "+other.IP.Addr().String()) {
						return fmt.Errorf("route %q is not via %s", r, other.IP.Addr())
					}
					return err
				})
			}
		}
	}
	allReach(t, wls...)
	// Every host reports two established mesh sessions.
	for _, h := range b.Hosts {
		eventually(t, h.Name+" status", func() error {
			st, err := h.Status()
			if err != nil {
				return err
			}
			if st.BGP == nil || len(st.BGP.Peers) != 2 {
				return fmt.Errorf("status %+v", st.BGP)
			}
			for _, p := range st.BGP.Peers {
				if p.Type != "mesh" || p.State != "Established" || p.Since == nil {
					return fmt.Errorf("peer %+v", p)
				}
			}
			return nil
		})
	}
}

// TestBorrowedAddressRoutedAsHostRoute: a pool of one block is claimed by
// host1; host2's workload borrows an address from it, which host2
// announces as a /32 that the others route to it.
func TestBorrowedAddressRoutedAsHostRoute(t *testing.T) {
	b := sharedBed(t)
	small := resources.NewIPPool("one-block")
	small.Spec.CIDR = "10.232.0.0/26"
	apply(t, b, small)
	net := network(t, b, "small", netip.MustParsePrefix("10.232.0.0/26"))
	h1, h2, h3 := b.Hosts[0], b.Hosts[1], b.Hosts[2]
	owner := workload(t, h1, net, nil)
	borrower := workload(t, h2, net, nil)
	watcher := workload(t, h3, net, nil) // borrows too
	host := netip.PrefixFrom(borrower.IP, 32)
	for _, h := range []*testbed.Host{h1, h3} {
		eventually(t, h.Name+" routes the borrowed address", func() error {
			r, err := ourRoute(h, host)
			if err == nil && !strings.Contains(r, "via "+h2.IP.Addr().String()) {
				return fmt.Errorf("route %q is not via host2", r)
			}
			return err
		})
	}
	allReach(t, owner, borrower, watcher)
}
