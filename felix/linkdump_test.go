package felix

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// confPaths is where /proc shows each setting the dumps give, for
// interface IF.
var confPaths = map[confKey]string{
	v4Forwarding:  "net/ipv4/conf/IF/forwarding",
	v4RPFilter:    "net/ipv4/conf/IF/rp_filter",
	v4ProxyARP:    "net/ipv4/conf/IF/proxy_arp",
	arpProxyDelay: "net/ipv4/neigh/IF/proxy_delay",
	v6Forwarding:  "net/ipv6/conf/IF/forwarding",
	v6AcceptRA:    "net/ipv6/conf/IF/accept_ra",
	v6ProxyNDP:    "net/ipv6/conf/IF/proxy_ndp",
	v6DisableIPv6: "net/ipv6/conf/IF/disable_ipv6",
}

// TestDumpLinksReadsSettings checks the dumps against /proc on this
// kernel, with each setting at its default and then at another value: the
// array indexes and units in linkdump.go are the kernel's.
func TestDumpLinksReadsSettings(t *testing.T) {
	host := felixtest.NewNS(t, "ld")
	v := newTestVeths(t, host)
	const iface = "calild0000001"
	if err := v.CreateVeth(iface, "tmpld0000001", testMAC, 1500); err != nil {
		t.Fatal(err)
	}
	sock, err := routeSocket(host.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	index := int32(host.Link(t, iface).Attrs().Index)
	check := func(round string) {
		t.Helper()
		links, conf, err := dumpLinks(sock, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := addProxyDelays(sock, conf); err != nil {
			t.Fatal(err)
		}
		if len(links) != len(conf) || conf[index] == nil {
			t.Fatalf("%s: %d links, settings of %d, %s's %v", round, len(links), len(conf), iface, conf[index])
		}
		for k := v4Forwarding; k < numConfKeys; k++ {
			got, ok := conf[index].value(k)
			want := host.Sysctl(t, strings.Replace(confPaths[k], "IF", iface, 1))
			if !ok || got != want {
				t.Errorf("%s: %s from the dumps %q (given %v), /proc says %q", round, confPaths[k], got, ok, want)
			}
		}
	}
	check("defaults")
	for k, val := range map[confKey]string{v4Forwarding: "0", v4RPFilter: "2", v4ProxyARP: "1", arpProxyDelay: "37",
		v6Forwarding: "1", v6AcceptRA: "2", v6ProxyNDP: "1", v6DisableIPv6: "1"} {
		host.SetSysctl(t, strings.Replace(confPaths[k], "IF", iface, 1), val)
	}
	check("changed")
}

// TestDataplaneRepairsSysctls: settings changed behind felix's back are
// set again at the next full resync, which reads them from the dumps (40
// interfaces of 81: enough for checkMany).
func TestDataplaneRepairsSysctls(t *testing.T) {
	host := felixtest.NewNS(t, "ld")
	v := newTestVeths(t, host)
	d := startDataplane(t, host, Config{EnableIPv6: true})
	const n = 40
	for i := range n {
		iface := fmt.Sprintf("calild%07d", i)
		if err := v.CreateVeth(iface, fmt.Sprintf("tmpld%07d", i), testMAC, 1500); err != nil {
			t.Fatal(err)
		}
		d.OnEndpointUpdate(Endpoint{ID: iface, IfaceName: iface, MAC: testMAC,
			IPv4Nets: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 65, 0, byte(i + 1)}), 32)}})
	}
	waitSynced(t, d)
	if !useSettingsDump(n, n*2+1) {
		t.Fatalf("a full resync of %d interfaces of %d reads /proc", n, n*2+1)
	}
	want := map[string]string{}
	tampered := map[string]string{"forwarding": "0", "rp_filter": "0", "proxy_arp": "0", "proxy_delay": "80",
		"accept_ra": "1", "disable_ipv6": "1", "proxy_ndp": "0"}
	for _, iface := range []string{"calild0000000", "calild0000039"} {
		for _, s := range ifaceSysctls(iface, true) {
			want[s.path] = s.value
			if s.key == confUnknown {
				t.Errorf("%s: not read from the dumps", s.path)
			}
			if got := host.Sysctl(t, s.path); got != s.value {
				t.Errorf("%s = %s, want %s", s.path, got, s.value)
			}
			host.SetSysctl(t, s.path, tampered[s.path[strings.LastIndex(s.path, "/")+1:]])
		}
	}
	felixtest.Eventually(t, 10*time.Second, "the sysctls set again", func() error {
		for path, val := range want {
			if got := host.Sysctl(t, path); got != val {
				return fmt.Errorf("%s = %s, want %s", path, got, val)
			}
		}
		return nil
	})
}

// TestSettingsDumpThreshold: the dumps are read for many interfaces, /proc
// for a few (a container started on a large host).
func TestSettingsDumpThreshold(t *testing.T) {
	for _, c := range []struct {
		n, links int
		want     bool
	}{{1, 5, false}, {31, 40, false}, {32, 65, true}, {40, 81, true}, {1, 10001, false},
		{3999, 10001, false}, {4000, 10001, true}, {1000, 2003, true}, {10000, 20003, true}} {
		if got := useSettingsDump(c.n, c.links); got != c.want {
			t.Errorf("%d interfaces of %d: dumps %v, want %v", c.n, c.links, got, c.want)
		}
	}
}

// FuzzLinkDumpParsers: the dump parsers take any bytes without panicking
// (a kernel's message of another layout gives unknown settings, never a
// crash).
func FuzzLinkDumpParsers(f *testing.F) {
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	// ifinfomsg, then IFLA_AF_SPEC{AF_INET{IFLA_INET_CONF: 3 values}}
	f.Add(append(make([]byte, 16), 0x20, 0, 0x1a, 0, 0x1c, 0, 2, 0, 0x10, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0))
	f.Fuzz(func(t *testing.T, m []byte) {
		c := devconf(m)
		for k := v4Forwarding; k < numConfKeys; k++ {
			c.value(k)
		}
		proxyDelay(m)
	})
}
