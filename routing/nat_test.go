package routing_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestNATOutgoingToTheLAN(t *testing.T) {
	b := sharedBed(t)
	ext, extIP, err := b.AddPeer("ext", 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.RemovePeer(ext) })
	sink, err := ext.Sink(netip.AddrPortFrom(extIP, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sink.Close)
	noNAT := resources.NewIPPool("no-nat")
	noNAT.Spec.CIDR = "10.231.0.0/16"
	apply(t, b, noNAT)

	h := b.Hosts[0]
	for _, tc := range []struct {
		name   string
		subnet netip.Prefix
		nat    bool
	}{
		{"natOutgoing true (default pool)", netip.Prefix{}, true},
		{"natOutgoing false", netip.MustParsePrefix("10.231.0.0/16"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := workload(t, h, network(t, b, "nat", tc.subnet), nil)
			want := w.IP
			if tc.nat {
				want = h.IP.Addr()
			}
			payload := "from-" + w.Name
			eventually(t, "datagram to the LAN", func() error {
				if err := w.NS.SendUDP(sink.Addr, payload); err != nil {
					return err
				}
				got, ok := sink.Received(payload)
				switch {
				case !ok:
					return fmt.Errorf("nothing received yet")
				case got != want:
					return fmt.Errorf("the LAN saw %s, want %s", got, want)
				}
				return nil
			})
		})
	}
}
