package felix

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nat"
)

// router is a host namespace routing between three networks: a pool
// network with a "workload" (10.70.0.5, natOutgoing pool), another pool's
// network (10.71.0.5) and an outside network (10.98.0.2).
type router struct {
	host, client, peer, outside *felixtest.NS
}

func natLink(t *testing.T, a *felixtest.NS, aName, aAddr string, b *felixtest.NS, bName, bAddr string) {
	t.Helper()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: aName}, PeerName: bName}
	if err := a.NL.LinkAdd(v); err != nil {
		t.Fatal(err)
	}
	if err := a.NL.LinkSetNsFd(a.Link(t, bName), int(*b.NS.Handle())); err != nil {
		t.Fatal(err)
	}
	for _, end := range []struct {
		n          *felixtest.NS
		name, addr string
	}{{a, aName, aAddr}, {b, bName, bAddr}} {
		l := end.n.Link(t, end.name)
		addr, _ := netlink.ParseAddr(end.addr)
		if err := end.n.NL.AddrAdd(l, addr); err != nil {
			t.Fatal(err)
		}
		if err := end.n.NL.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}

func defaultVia(t *testing.T, n *felixtest.NS, gw string) {
	t.Helper()
	n.Run(t, "ip", "route", "add", "default", "via", gw)
}

func newRouter(t *testing.T) *router {
	r := &router{host: felixtest.NewNS(t, "host"), client: felixtest.NewNS(t, "client"),
		peer: felixtest.NewNS(t, "peer"), outside: felixtest.NewNS(t, "outside")}
	natLink(t, r.host, "cl0", "10.70.0.1/24", r.client, "eth0", "10.70.0.5/24")
	natLink(t, r.host, "pe0", "10.71.0.1/24", r.peer, "eth0", "10.71.0.5/24")
	natLink(t, r.host, "out0", "10.98.0.1/24", r.outside, "eth0", "10.98.0.2/24")
	defaultVia(t, r.client, "10.70.0.1")
	defaultVia(t, r.peer, "10.71.0.1")
	r.host.SetSysctl(t, "net/ipv4/ip_forward", "1")
	return r
}

// startNAT runs a Dataplane on the router's host namespace with a short
// resync, so repairs are seen without waiting long.
func startNAT(t *testing.T, r *router, dataplane string) *Dataplane {
	t.Helper()
	d := New(Config{NetNS: r.host.Path, ResyncInterval: 300 * time.Millisecond, Dataplane: dataplane,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-d.Done() })
	return d
}

func waitInSync(t *testing.T, d *Dataplane) {
	t.Helper()
	felixtest.Eventually(t, 10*time.Second, "in sync", func() error {
		if !d.InSync() {
			return fmt.Errorf("not in sync: %v", d.Status().LastError)
		}
		return nil
	})
}

var client = netip.MustParseAddr("10.70.0.5")

// sourceSeen sends datagrams from the client to sink until one arrives
// and returns the source address the sink saw.
func natSourceSeen(t *testing.T, r *router, sink *felixtest.Sink, payload string) netip.Addr {
	t.Helper()
	var src netip.Addr
	felixtest.Eventually(t, 10*time.Second, "datagram "+payload, func() error {
		if err := felixtest.SendUDP(r.client, client, sink.Addr, payload); err != nil {
			return err
		}
		a, ok := sink.Received(payload)
		if !ok {
			return fmt.Errorf("not received")
		}
		src = a
		return nil
	})
	return src
}

func TestNATOutgoing(t *testing.T) {
	for _, dp := range []string{DataplaneIptables, DataplaneNftables} {
		t.Run(dp, func(t *testing.T) { testNATOutgoing(t, dp) })
	}
}

func testNATOutgoing(t *testing.T, dataplane string) {
	r := newRouter(t)
	out := felixtest.NewSink(t, r.outside, netip.MustParseAddrPort("10.98.0.2:0"))
	other := felixtest.NewSink(t, r.peer, netip.MustParseAddrPort("10.71.0.5:0"))
	d := startNAT(t, r, dataplane)
	if err := d.SetNATPools([]nat.Pool{
		{CIDR: netip.MustParsePrefix("10.70.0.0/24"), NATOutgoing: true},
		{CIDR: netip.MustParsePrefix("10.71.0.0/24")},
	}); err != nil {
		t.Fatal(err)
	}
	waitInSync(t, d)
	if got := natSourceSeen(t, r, out, "to-outside-1"); got != netip.MustParseAddr("10.98.0.1") {
		t.Errorf("outside saw %s, want the host's 10.98.0.1 (masqueraded)", got)
	}
	if got := natSourceSeen(t, r, other, "to-pool-1"); got != client {
		t.Errorf("the other pool saw %s, want the workload's own %s", got, client)
	}

	// Rules deleted behind our back come back at the next resync.
	if dataplane == DataplaneNftables {
		flushNftChain(t, r.host, nat.ChainNATOutgoing) // nftables_test.go
	} else {
		r.host.Run(t, "iptables-"+detect(t, r), "-t", "nat", "-F", nat.ChainNATOutgoing)
	}
	felixtest.Eventually(t, 10*time.Second, "rule restored", func() error {
		if dataplane == DataplaneNftables {
			if n := nftRuleCount(t, r.host, nat.ChainNATOutgoing); n != 1 {
				return fmt.Errorf("%d rules in %s, want the masquerade rule", n, nat.ChainNATOutgoing)
			}
			return nil
		}
		save := r.host.Run(t, "iptables-"+detect(t, r)+"-save", "-t", "nat")
		if !strings.Contains(save, "cali40masq-ipam-pools src") {
			return fmt.Errorf("no masquerade rule in:\n%s", save)
		}
		return nil
	})

	// natOutgoing off: the outside sees the workload's own address.
	if err := d.SetNATPools([]nat.Pool{{CIDR: netip.MustParsePrefix("10.70.0.0/24")}, {CIDR: netip.MustParsePrefix("10.71.0.0/24")}}); err != nil {
		t.Fatal(err)
	}
	waitInSync(t, d)
	// A bad pool is refused and changes nothing.
	if err := d.SetNATPools([]nat.Pool{{CIDR: netip.MustParsePrefix("10.70.0.5/24")}}); err == nil || !strings.Contains(err.Error(), "10.70.0.5/24") {
		t.Errorf("SetNATPools with a host address: err %v, want one naming the CIDR", err)
	}
	if got := natSourceSeen(t, r, out, "to-outside-2"); got != client {
		t.Errorf("outside saw %s, want the workload's own %s", got, client)
	}
}

// detect returns the iptables backend the manager picked (the tables of a
// fresh namespace are empty, so it is the distribution's default).
func detect(t *testing.T, r *router) string {
	t.Helper()
	if out, err := r.host.TryRun("iptables-nft-save", "-t", "nat"); err == nil && strings.Contains(out, nat.ChainPostrouting) {
		return "nft"
	}
	return "legacy"
}
