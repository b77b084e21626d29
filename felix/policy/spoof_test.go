package policy_test

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// allowAll is the seed's default network profile: everything allowed.
const allowAll = `
apiVersion: projectcalico.org/v3
kind: Profile
metadata:
  name: calico
spec:
  egress:
  - action: Allow
    destination: {}
    source: {}
  ingress:
  - action: Allow
    destination: {}
    source: {}
  labelsToApply:
    calico: ""
`

// TestAntiSpoofing has a workload send from addresses and a MAC that are
// not its own, with every policy allowing everything: each attempt must
// be dropped. Two layers stop IP spoofing, and the test proves each on its
// own: strict reverse-path filtering on the workload's interface (the
// kernel drops the packets before iptables counts them), then, with
// rp_filter switched off, the anti-spoofing rules of the workload's
// from-endpoint chain (their DROP counters grow; in nftables mode, where
// that chain is folded into the shard's source map, the counter of
// cali-spoofed). MAC spoofing only the rules stop.
// Verdict is not consulted: it trusts source addresses by design.
func TestAntiSpoofing(t *testing.T) { eachDataplane(t, testAntiSpoofing) }

func testAntiSpoofing(t *testing.T, cfg felix.Config) {
	// No periodic resync: it would put back the rp_filter the test removes.
	cfg.Policy, cfg.ResyncInterval = true, time.Hour
	b := newBed(t, cfg, decode(t, allowAll)...)
	a := b.addWorkload("a", 1, []string{"calico"}, nil)
	dst := b.addWorkload("b", 2, []string{"calico"}, nil)
	b.addWorkload("c", 3, []string{"calico"}, nil)
	sink := felixtest.NewSink(t, dst.NS, netip.AddrPortFrom(dst.V4, 5353))
	unassigned := netip.MustParseAddr("10.65.1.9")
	addAddr(t, a.NS, unassigned)
	addAddr(t, a.NS, b.addr("c", false)) // another workload's address

	var seq int
	arrives := func(src netip.Addr) bool {
		t.Helper()
		seq++
		payload := fmt.Sprintf("from %s #%d", src, seq)
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			if err := felixtest.SendUDP(a.NS, src, sink.Addr, payload); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			if _, ok := sink.Received(payload); ok {
				return true
			}
		}
		return false
	}
	expect := func(layer string) {
		t.Helper()
		if !arrives(a.V4) {
			t.Fatalf("%s: a packet from the workload's own address did not arrive", layer)
		}
		for _, src := range []netip.Addr{unassigned, b.addr("c", false)} {
			if arrives(src) {
				t.Errorf("%s: a packet spoofing source %s arrived", layer, src)
			}
		}
	}
	start := dropCount(b, a.HostSide)
	expect("strict RPF")
	if n := dropCount(b, a.HostSide); n != start {
		t.Errorf("spoofed packets reached iptables (%d drops) despite strict RPF", n-start)
	}

	// Without reverse-path filtering only the iptables rules stand.
	b.host.SetSysctl(t, "net/ipv4/conf/all/rp_filter", "0")
	b.host.SetSysctl(t, "net/ipv4/conf/"+a.HostSide+"/rp_filter", "0")
	before := dropCount(b, a.HostSide)
	expect("iptables alone")
	if after := dropCount(b, a.HostSide); after <= before {
		t.Errorf("the anti-spoofing DROP rules of %s counted %d packets before and %d after",
			rules.EndpointChain(a.HostSide, true), before, after)
	}

	// A new MAC: same addresses, dropped by the MAC match.
	cali0 := a.NS.Link(t, "cali0")
	if err := a.NS.NL.LinkSetHardwareAddr(cali0, net.HardwareAddr{0x02, 0x42, 0x0a, 0x41, 0x01, 0x99}); err != nil {
		t.Fatal(err)
	}
	if arrives(a.V4) {
		t.Error("a packet from a spoofed MAC arrived")
	}
	if err := a.NS.NL.LinkSetHardwareAddr(cali0, a.MAC); err != nil {
		t.Fatal(err)
	}
	if !arrives(a.V4) {
		t.Error("after restoring its MAC, the workload's packets did not arrive")
	}
}

func addAddr(t *testing.T, n *felixtest.NS, a netip.Addr) {
	t.Helper()
	addr := &netlink.Addr{IPNet: felixtest.PrefixToIPNet(netip.PrefixFrom(a, a.BitLen()))}
	if err := n.NL.AddrAdd(n.Link(t, "cali0"), addr); err != nil {
		t.Fatal(err)
	}
}

var counterRE = regexp.MustCompile(`^\[(\d+):\d+\] -A (\S+) .*-j DROP`)

// dropCount sums the packet counters of the DROP rules of an endpoint's
// from-workload chain (nftables: and of the cali-spoofed chains its
// dispatch element leads to when the chain is folded into the source map).
func dropCount(b *bed, iface string) int {
	chain := rules.EndpointChain(iface, true)
	if b.nft { // and the chain an endpoint's chain folded into the source map leads to
		return nftDropCount(b.t, b.host, chain) + nftDropCount(b.t, b.host, nftrules.SpoofedChain)
	}
	n := 0
	for _, l := range strings.Split(b.iptables(4, "save", "-c", "-t", "filter"), "\n") {
		if m := counterRE.FindStringSubmatch(l); m != nil && m[2] == chain {
			c, _ := strconv.Atoi(m[1])
			n += c
		}
	}
	return n
}
