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

// BenchmarkCheckSettings measures what a full resync or a restart spends
// listing the links and checking workload interfaces' settings that are
// already right: through /proc (five files an interface; the baseline), or
// read from the link dump itself and the ARP table's (linkdump.go). n
// interfaces (CALICO_BENCH_SCALE, default 1000), their peers moved to
// another namespace as Docker moves them into its containers' (the dumps
// cost per interface of the host).
func BenchmarkCheckSettings(b *testing.B) {
	n := felixtest.BenchScale(b)
	host := felixtest.NewNS(b, "bench")
	containers := felixtest.NewNS(b, "benchc")
	v, err := NewVeths(host.Path)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	names := make([]string, n)
	index := make([]int32, n)
	for i := range names {
		names[i] = fmt.Sprintf("calis%08d", i)
		mac := net.HardwareAddr{0x02, 0x42, 0x0a, byte(i >> 16), byte(i >> 8), byte(i)}
		peer := fmt.Sprintf("tmps%08d", i)
		if err := v.CreateVeth(names[i], peer, mac, 1500); err != nil {
			b.Fatal(err)
		}
		if err := host.NL.LinkSetNsFd(host.Link(b, peer), int(*containers.NS.Handle())); err != nil {
			b.Fatal(err)
		}
		index[i] = int32(host.Link(b, names[i]).Attrs().Index)
	}
	sock, err := routeSocket(host.NS)
	if err != nil {
		b.Fatal(err)
	}
	defer sock.Close()
	check := func(conf map[int32]*linkConf) {
		err := host.NS.Do(func() error {
			for i, name := range names {
				if err := applySysctls(ifaceSysctls(name, false), conf[index[i]]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	list := func(settings bool) map[int32]*linkConf {
		_, conf, err := dumpLinks(sock, settings)
		if err == nil && settings {
			err = addProxyDelays(sock, conf)
		}
		if err != nil {
			b.Fatal(err)
		}
		return conf
	}
	check(nil) // set them
	b.Run("proc", func(b *testing.B) {
		for range b.N {
			check(list(false))
		}
	})
	b.Run("dumps", func(b *testing.B) {
		for range b.N {
			check(list(true))
		}
	})
}
