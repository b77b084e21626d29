package felix

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/routes"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
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

// A host endpoint given by its expectedIPs only is bound from the host's
// addresses, which the dataplane reads when they may have changed (the
// watcher saw a host interface's address come or go; a full resync), not
// at every apply: policy changes read nothing, the address's arrival on
// uplink0 binds the host endpoint and its removal unbinds it, with no
// resync due within the test.
func TestHostAddrsFollowEvents(t *testing.T) {
	host := felixtest.NewNS(t, "haddr")
	felixtest.AddUplink(t, host)
	d := startDataplane(t, host, Config{NodeName: "host1", Policy: true, ResyncInterval: time.Hour})
	hep := resources.NewHostEndpoint("by-ip")
	hep.Labels = map[string]string{"role": "host"}
	hep.Spec.Node, hep.Spec.ExpectedIPs = "host1", []string{"192.0.2.77"}
	policy := func(order float64) model.Update {
		p := resources.NewGlobalNetworkPolicy("host-in")
		p.Spec.Order, p.Spec.Selector = &order, "role == 'host'"
		p.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow}}
		p.Default()
		return model.UpdateOf(p)
	}
	d.OnSyncEvent(model.SyncEvent{Full: true, Updates: []model.Update{model.UpdateOf(hep), policy(1)}})
	waitSynced(t, d)
	chain := rules.HostEndpointChain("fh", "uplink0")
	bound := func() bool { // in the kernel: the iptables backend's filter table
		return strings.Contains(host.Run(t, iptablesBinary(d, 4, "save"), "-t", "filter"), ":"+chain+" ")
	}
	if bound() {
		t.Fatalf("%s exists before any interface has 192.0.2.77", chain)
	}
	// The watcher's subscription marks the addresses stale once (it may
	// have missed events before); another change takes that read first,
	// unless the subscription comes later still: one read is allowed.
	d.OnSyncEvent(model.SyncEvent{Updates: []model.Update{policy(2)}})
	waitSynced(t, d)
	reads := d.kernel.hostAddrReads.Load()
	if reads == 0 {
		t.Fatal("the host's addresses were never read")
	}
	for i := range 5 {
		d.OnSyncEvent(model.SyncEvent{Updates: []model.Update{policy(float64(i + 3))}})
		waitSynced(t, d)
	}
	if n := d.kernel.hostAddrReads.Load() - reads; n > 1 {
		t.Errorf("5 policy changes read the host's addresses %d times, want at most one", n)
	}

	uplink := host.Link(t, "uplink0")
	addr := &netlink.Addr{IPNet: felixtest.PrefixToIPNet(netip.MustParsePrefix("192.0.2.77/32"))}
	if err := host.NL.AddrAdd(uplink, addr); err != nil {
		t.Fatal(err)
	}
	felixtest.Eventually(t, converge, "the host endpoint bound to uplink0", func() error {
		if !bound() {
			return fmt.Errorf("no %s", chain)
		}
		return nil
	})
	if err := host.NL.AddrDel(uplink, addr); err != nil {
		t.Fatal(err)
	}
	felixtest.Eventually(t, converge, "the host endpoint unbound", func() error {
		if bound() {
			return fmt.Errorf("%s still there", chain)
		}
		return nil
	})
}
