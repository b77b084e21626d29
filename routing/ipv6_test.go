package routing_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestIPv6AcrossHosts: two dual-stack hosts (IP6 set from their
// fd00:99::/64 LAN addresses) mesh over IPv6 too, announce their IPv6
// blocks (/122), install each other's with protocol 81 via the other's
// IPv6 address, and their workloads reach each other over IPv6 unNATed.
// It has a bed of its own: the shared bed is IPv4-only.
func TestIPv6AcrossHosts(t *testing.T) {
	b := newBed(t, testbed.Config{IPv6: true, Hosts: []testbed.HostConfig{{Name: "host1"}, {Name: "host2"}}})
	v6 := resources.NewIPPool("v6")
	v6.Spec.CIDR = "fd00:230::/64"
	apply(t, b, v6)
	for _, h := range b.Hosts {
		n, err := datastoreNode(b, h.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Spec.BGP.IPv6Address; got != h.IP6.String() {
			t.Errorf("node %s ipv6Address = %q, want %q (from IP6)", h.Name, got, h.IP6)
		}
	}
	net, err := b.CreateDualStackNetwork("dual", netip.Prefix{}, "")
	if err != nil {
		t.Fatal(err)
	}
	w1, w2 := workload(t, b.Hosts[0], net, nil), workload(t, b.Hosts[1], net, nil)
	if !w1.IP6.Is6() || !w2.IP6.Is6() {
		t.Fatalf("workloads without IPv6 addresses: %s, %s", w1.IP6, w2.IP6)
	}
	for _, h := range b.Hosts {
		for _, other := range b.Hosts {
			if other == h {
				continue
			}
			found := 0
			for _, blk := range blocksOf(t, b, other.Name) {
				if !blk.Addr().Is6() {
					continue
				}
				found++
				if blk.Bits() != resources.DefaultBlockSizeV6 {
					t.Errorf("%s has IPv6 block %s, want a /%d", other.Name, blk, resources.DefaultBlockSizeV6)
				}
				eventually(t, fmt.Sprintf("%s routes %s", h.Name, blk), func() error {
					r, err := ourRoute6(h, blk)
					if err == nil && !strings.Contains(r, "via "+other.IP6.Addr().String()) {
						return fmt.Errorf("route %q is not via %s", r, other.IP6.Addr())
					}
					return err
				})
			}
			if found == 0 {
				t.Errorf("%s has no IPv6 block", other.Name)
			}
		}
	}
	for _, pair := range [][2]*testbed.Workload{{w1, w2}, {w2, w1}} {
		from, to := pair[0], pair[1]
		eventually(t, fmt.Sprintf("%s reaches %s over IPv6", from.Name, to.Name), func() error {
			if err := from.NS.Ping(to.IP6); err != nil {
				return fmt.Errorf("ping %s: %w", to.IP6, err)
			}
			seen, err := from.NS.Reach(netip.AddrPortFrom(to.IP6, 80), 2*time.Second)
			if err == nil && seen != from.IP6 {
				return fmt.Errorf("%s saw the connection from %s, want %s", to.Name, seen, from.IP6)
			}
			return err
		})
	}
	allReach(t, w1, w2) // IPv4 still works alongside
}

// ourRoute6 finds the IPv6 route of protocol 81 to dst in a host's kernel.
func ourRoute6(h *testbed.Host, dst netip.Prefix) (string, error) {
	routes, err := h.NS.Routes6()
	if err != nil {
		return "", err
	}
	name := dst.String()
	if dst.Bits() == 128 {
		name = dst.Addr().String()
	}
	for _, r := range routes {
		if strings.HasPrefix(r, name+" ") && strings.Contains(r, "proto 81") {
			return r, nil
		}
	}
	return "", fmt.Errorf("%s has no proto 81 route to %s in:\n%s", h.Name, dst, strings.Join(routes, "\n"))
}
