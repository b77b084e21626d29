package routing_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func vxlanPool(name, cidr, mode string) *resources.IPPool {
	p := resources.NewIPPool(name)
	p.Spec.CIDR, p.Spec.VXLANMode = cidr, mode
	return p
}

// blocksIn returns a node's blocks inside pool.
func blocksIn(t *testing.T, b *testbed.Bed, node string, pool netip.Prefix) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, blk := range blocksOf(t, b, node) {
		if pool.Contains(blk.Addr()) {
			out = append(out, blk)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s has no block in %s", node, pool)
	}
	return out
}

// TestVXLANWithoutBGP runs hosts on two subnets with BGP off: an Always
// pool goes through vxlan.calico everywhere, a CrossSubnet pool only
// between subnets.
func TestVXLANWithoutBGP(t *testing.T) {
	b := newBed(t, testbed.Config{
		Hosts: []testbed.HostConfig{{Name: "host1"}, {Name: "host2"}, {Name: "host3", Subnet: 1}},
		Env:   []string{"CALICO_NETWORKING_BACKEND=vxlan"},
	})
	always, cross := netip.MustParsePrefix("10.240.0.0/16"), netip.MustParsePrefix("10.241.0.0/16")
	apply(t, b, vxlanPool("vx-always", always.String(), resources.EncapAlways),
		vxlanPool("vx-cross", cross.String(), resources.EncapCrossSubnet))
	h1, h2, h3 := b.Hosts[0], b.Hosts[1], b.Hosts[2]

	for _, tc := range []struct {
		name  string
		pool  netip.Prefix
		vxlan map[*testbed.Host]bool // from host1 to this host: through vxlan.calico?
	}{
		{"Always", always, map[*testbed.Host]bool{h2: true, h3: true}},
		{"CrossSubnet", cross, map[*testbed.Host]bool{h2: false, h3: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net := network(t, b, "vx", tc.pool)
			wls := []*testbed.Workload{workload(t, h1, net, nil), workload(t, h2, net, nil), workload(t, h3, net, nil)}
			for other, encap := range tc.vxlan {
				vtep := tunnelAddr(t, b, other.Name)
				for _, blk := range blocksIn(t, b, other.Name, tc.pool) {
					eventually(t, "host1's route to "+other.Name, func() error {
						r, err := ourRoute(h1, blk)
						if err != nil {
							return err
						}
						want := "via " + other.IP.Addr().String() + " dev eth0"
						if encap {
							want = "via " + vtep + " dev vxlan.calico"
						}
						if !strings.Contains(r, want) {
							return fmt.Errorf("route %q, want %q", r, want)
						}
						return nil
					})
				}
			}
			allReach(t, wls...)
		})
	}
	st, err := h1.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Backend != "vxlan" || st.BGP != nil || !st.Encapsulation.VXLAN.Enabled || st.Encapsulation.VXLAN.Peers != 2 ||
		st.Encapsulation.VXLAN.VNI != 4096 || st.Encapsulation.VXLAN.MTU != 1450 {
		t.Errorf("status = %+v", st)
	}
}

// tunnelAddr is a node's published VXLAN tunnel address, checked to be
// held in IPAM by its tunnel handle.
func tunnelAddr(t *testing.T, b *testbed.Bed, node string) string {
	t.Helper()
	var addr string
	eventually(t, node+" publishes its VTEP", func() error {
		n, err := datastoreNode(b, node)
		if err != nil {
			return err
		}
		if n.Spec.IPv4VXLANTunnelAddr == "" || n.Spec.VXLANTunnelMACAddr == "" {
			return fmt.Errorf("node spec %+v", n.Spec)
		}
		addr = n.Spec.IPv4VXLANTunnelAddr
		return nil
	})
	ips, err := ipam.New(b.Store, node).IPsByHandle(ctx(t), "vxlan-tunnel-addr-"+node)
	if err != nil || len(ips) != 1 || ips[0].String() != addr {
		t.Errorf("IPAM holds %v (%v) for %s's tunnel address %s", ips, err, node, addr)
	}
	return addr
}
