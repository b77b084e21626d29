package felix

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// BenchmarkApply1000 measures programming 1000 endpoints (veths already
// present) from a cold dataplane: routes, ARP entries, sysctls, iptables.
func BenchmarkApply1000(b *testing.B) {
	const n = 1000
	host := felixtest.NewNS(b, "bench")
	v, err := NewVeths(host.Path)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	eps := make([]Endpoint, n)
	for i := range eps {
		mac := net.HardwareAddr{0x02, 0x42, 0x0a, 0x42, byte(i >> 8), byte(i)}
		eps[i] = Endpoint{
			ID: fmt.Sprintf("ep%d", i), IfaceName: fmt.Sprintf("calib%08d", i), MAC: mac,
			IPv4Nets: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 66, byte(i >> 8), byte(i)}), 32)},
		}
		if err := v.CreateVeth(eps[i].IfaceName, fmt.Sprintf("tmpb%08d", i), mac, 1500); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		d := New(Config{NetNS: host.Path, ResyncInterval: time.Hour, Logger: quietLogger()})
		dctx, stop := context.WithCancel(ctx)
		b.StartTimer()
		if err := d.Start(dctx); err != nil {
			b.Fatal(err)
		}
		for _, ep := range eps {
			d.OnEndpointUpdate(ep)
		}
		if err := d.WaitSynced(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if st := d.Status(); st.RoutesProgrammed != n {
			b.Fatalf("status %+v, want %d routes", st, n)
		}
		// Back to cold: remove the endpoints (and their routes), then stop.
		for _, ep := range eps {
			d.OnEndpointRemove(ep.ID)
		}
		if err := d.WaitSynced(ctx); err != nil {
			b.Fatal(err)
		}
		stop()
		<-d.Done()
	}
}
