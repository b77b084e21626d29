package felix

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

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

// BenchmarkEndpointWrites compares, in one run, the two ways of writing a
// start of day's routes and ARP entries (one each per endpoint, on n
// veths; n is CALICO_BENCH_SCALE, default 1000): "one-by-one", each a
// request netlink.Handle's RouteReplace and NeighSet send and wait for,
// and "batched", as the endpoint sync sends them (writeBatched).
// Each round deletes them again, untimed.
func BenchmarkEndpointWrites(b *testing.B) {
	n := felixtest.BenchScale(b)
	host := felixtest.NewNS(b, "benchw")
	felixtest.AddUplink(b, host) // else each route scans every interface for a source address
	v, err := NewVeths(host.Path)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	routes := make([]*netlink.Route, n)
	neighs := make([]*netlink.Neigh, n)
	for i := range n {
		iface := fmt.Sprintf("calibw%07d", i)
		mac := net.HardwareAddr{0x02, 0x42, 0x0a, 0x42, byte(i >> 8), byte(i)}
		if err := v.CreateVeth(iface, fmt.Sprintf("tmpbw%07d", i), mac, 1500); err != nil {
			b.Fatal(err)
		}
		idx := host.Link(b, iface).Attrs().Index
		ip := netip.AddrFrom4([4]byte{10, 66, byte(i >> 8), byte(i)})
		routes[i] = &netlink.Route{LinkIndex: idx, Type: unix.RTN_UNICAST, Scope: netlink.SCOPE_LINK, Protocol: 80,
			Table: unix.RT_TABLE_MAIN, Dst: prefixToIPNet(netip.PrefixFrom(ip, 32))}
		neighs[i] = &netlink.Neigh{LinkIndex: idx, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
			IP: ip.AsSlice(), HardwareAddr: mac}
	}
	sock, err := routeSocket(host.NS)
	if err != nil {
		b.Fatal(err)
	}
	defer sock.Close()
	undo := func() {
		b.StopTimer()
		for i := range n {
			if err := host.NL.RouteDel(routes[i]); err != nil {
				b.Fatal(err)
			}
			if err := host.NL.NeighDel(neighs[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.Run("one-by-one", func(b *testing.B) {
		for range b.N {
			for i := range n {
				if err := host.NL.RouteReplace(routes[i]); err != nil {
					b.Fatal(err)
				}
				if err := host.NL.NeighSet(neighs[i]); err != nil {
					b.Fatal(err)
				}
			}
			undo()
		}
	})
	b.Run("batched", func(b *testing.B) {
		for range b.N {
			reqs := make([]*nl.NetlinkRequest, 0, 2*n)
			for i := range n {
				ip, _ := netip.AddrFromSlice(neighs[i].IP)
				reqs = append(reqs, routeRequest(routes[i]), neighRequest(neighs[i].LinkIndex, ip, neighs[i].HardwareAddr))
			}
			for _, err := range writeBatched(sock, reqs) {
				if err != nil {
					b.Fatal(err)
				}
			}
			undo()
		}
	})
}
