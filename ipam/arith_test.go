package ipam

import (
	"math"
	"net/netip"
	"testing"
)

func TestBlockFor(t *testing.T) {
	tests := []struct {
		ip   string
		size int
		want string
	}{
		{"10.0.0.0", 26, "10.0.0.0/26"},
		{"10.0.0.63", 26, "10.0.0.0/26"},
		{"10.0.0.64", 26, "10.0.0.64/26"},
		{"192.168.255.255", 26, "192.168.255.192/26"},
		{"10.1.2.3", 32, "10.1.2.3/32"},
		{"10.1.2.3", 20, "10.1.0.0/20"},
		{"10.0.0.5", 30, "10.0.0.4/30"},
		{"fd00::1", 122, "fd00::/122"},
		{"fd00::40", 122, "fd00::40/122"},
		{"fd00::ffff", 116, "fd00::f000/116"},
		{"fd00:1:2:3:4:5:6:7", 128, "fd00:1:2:3:4:5:6:7/128"},
		{"::ffff:10.0.0.70", 26, "10.0.0.64/26"}, // v4-mapped is treated as IPv4
	}
	for _, tt := range tests {
		got := blockFor(netip.MustParseAddr(tt.ip), tt.size)
		if got.String() != tt.want {
			t.Errorf("blockFor(%s, %d) = %s, want %s", tt.ip, tt.size, got, tt.want)
		}
	}
}

func TestOrdinalRoundTrip(t *testing.T) {
	tests := []struct {
		block string
		ip    string
		ord   int
	}{
		{"10.0.0.0/26", "10.0.0.0", 0},
		{"10.0.0.0/26", "10.0.0.63", 63},
		{"10.0.0.64/26", "10.0.0.65", 1},
		{"10.0.0.0/26", "10.0.0.64", -1},
		{"10.0.0.4/30", "10.0.0.7", 3},
		{"10.255.255.252/30", "10.255.255.255", 3},
		{"10.1.0.0/20", "10.1.15.255", 4095},
		{"10.1.2.3/32", "10.1.2.3", 0},
		{"fd00::/122", "fd00::3f", 63},
		{"fd00::40/122", "fd00::40", 0},
		{"fd00::40/122", "fd00::3f", -1},
		{"fd00:0:0:0:ffff:ffff:ffff:f000/116", "fd00::ffff:ffff:ffff:ffff", 4095},
		{"fd00:1::/128", "fd00:1::", 0},
		{"10.0.0.0/26", "fd00::1", -1},
	}
	for _, tt := range tests {
		b := netip.MustParsePrefix(tt.block)
		ip := netip.MustParseAddr(tt.ip)
		if got := ordinal(b, ip); got != tt.ord {
			t.Errorf("ordinal(%s, %s) = %d, want %d", b, ip, got, tt.ord)
		}
		if tt.ord >= 0 {
			if got := addrAt(b, tt.ord); got != ip {
				t.Errorf("addrAt(%s, %d) = %s, want %s", b, tt.ord, got, ip)
			}
		}
	}
}

func TestEveryOrdinalOfBlock(t *testing.T) {
	for _, s := range []string{"10.0.0.0/26", "10.0.0.0/30", "10.0.16.0/20", "fd00::/122", "fd00::1000/116", "2001:db8::ffff:ffff:ffff:ff00/120"} {
		b := netip.MustParsePrefix(s)
		seen := map[netip.Addr]bool{}
		for o := range blockLen(b) {
			ip := addrAt(b, o)
			if !b.Contains(ip) || seen[ip] || ordinal(b, ip) != o {
				t.Fatalf("%s: ordinal %d -> %s (contained %v, dup %v, back %d)", b, o, ip, b.Contains(ip), seen[ip], ordinal(b, ip))
			}
			seen[ip] = true
		}
	}
}

func TestBlockLen(t *testing.T) {
	for s, want := range map[string]int{"10.0.0.0/26": 64, "10.0.0.0/30": 4, "10.0.0.0/32": 1, "10.0.0.0/20": 4096, "fd00::/122": 64, "fd00::/116": 4096, "fd00::/128": 1} {
		if got := blockLen(netip.MustParsePrefix(s)); got != want {
			t.Errorf("blockLen(%s) = %d, want %d", s, got, want)
		}
	}
}

func TestNthBlock(t *testing.T) {
	tests := []struct {
		pool string
		size int
		n    uint64
		want string // "" = out of range
	}{
		{"192.168.0.0/16", 26, 0, "192.168.0.0/26"},
		{"192.168.0.0/16", 26, 1, "192.168.0.64/26"},
		{"192.168.0.0/16", 26, 4, "192.168.1.0/26"},
		{"192.168.0.0/16", 26, 1023, "192.168.255.192/26"},
		{"192.168.0.0/16", 26, 1024, ""},
		{"10.0.0.0/28", 30, 3, "10.0.0.12/30"},
		{"10.0.0.0/28", 30, 4, ""},
		{"10.0.0.0/26", 26, 0, "10.0.0.0/26"},
		{"10.0.0.0/26", 26, 1, ""},
		{"fd00::/64", 122, 0, "fd00::/122"},
		{"fd00::/64", 122, 3, "fd00::c0/122"},
		{"fd00::/64", 122, 1 << 40, "fd00::4000:0:0/122"},
		{"fd00::/8", 122, 1 << 58, "fd00:0:0:1::/122"}, // carries into the high half
		{"::/0", 128, math.MaxUint64 - 1, "::ffff:ffff:ffff:fffe/128"},
	}
	for _, tt := range tests {
		got, ok := nthBlock(netip.MustParsePrefix(tt.pool), tt.size, tt.n)
		if tt.want == "" {
			if ok {
				t.Errorf("nthBlock(%s, %d, %d) = %s, want out of range", tt.pool, tt.size, tt.n, got)
			}
			continue
		}
		if !ok || got.String() != tt.want {
			t.Errorf("nthBlock(%s, %d, %d) = %s, %v; want %s", tt.pool, tt.size, tt.n, got, ok, tt.want)
		}
	}
}

func TestNumBlocks(t *testing.T) {
	tests := []struct {
		pool string
		size int
		want uint64
	}{
		{"192.168.0.0/16", 26, 1024},
		{"10.0.0.0/28", 30, 4},
		{"10.0.0.0/24", 20, 0},
		{"fd00::/64", 122, 1 << 58},
		{"fd00::/48", 122, math.MaxUint64},
	}
	for _, tt := range tests {
		if got := numBlocks(netip.MustParsePrefix(tt.pool), tt.size); got != tt.want {
			t.Errorf("numBlocks(%s, %d) = %d, want %d", tt.pool, tt.size, got, tt.want)
		}
	}
}

func TestCIDRKey(t *testing.T) {
	for _, s := range []string{"10.0.0.0/26", "192.168.255.192/26", "fd00::/122", "fd00:1:2:3::40/122", "10.0.0.4/30"} {
		p := netip.MustParsePrefix(s)
		k := cidrKey(p)
		back, err := parseCIDRKey(k)
		if err != nil || back != p {
			t.Errorf("parseCIDRKey(cidrKey(%s) = %q) = %s, %v", p, k, back, err)
		}
	}
	if got := cidrKey(netip.MustParsePrefix("10.0.0.64/26")); got != "10.0.0.64-26" {
		t.Errorf("cidrKey = %q, want Calico's 10.0.0.64-26", got)
	}
	for _, bad := range []string{"", "10.0.0.0", "10.0.0.0-", "10.0.0.0-33", "x-26", "fd00::-129", "10.0.0.0--1"} {
		if _, err := parseCIDRKey(bad); err == nil {
			t.Errorf("parseCIDRKey(%q) succeeded, want an error", bad)
		}
	}
}

func TestKeys(t *testing.T) {
	b := netip.MustParsePrefix("10.0.0.64/26")
	ip := netip.MustParseAddr("10.0.0.65")
	for got, want := range map[string]string{
		blockKey(b): "/calico/ipam/v2/assignment/ipv4/block/10.0.0.64-26",
		blockKey(netip.MustParsePrefix("fd00::40/122")): "/calico/ipam/v2/assignment/ipv6/block/fd00::40-122",
		affinityKey("host1", b):                         "/calico/ipam/v2/host/host1/ipv4/block/10.0.0.64-26",
		handleKey("ep1", ip):                            "/calico/ipam/v2/handle/ep1/10.0.0.65",
	} {
		if got != want {
			t.Errorf("key %q, want %q", got, want)
		}
	}
	h, got, ok := parseHandleKey(handleKey("docker-pending-ab", netip.MustParseAddr("fd00::1")))
	if !ok || h != "docker-pending-ab" || got != netip.MustParseAddr("fd00::1") {
		t.Errorf("parseHandleKey round trip = %q %s %v", h, got, ok)
	}
}

func TestCheckID(t *testing.T) {
	for _, ok := range []string{"ep1", "docker-pending-0123", "a.b_c:d", "Node-1"} {
		if err := checkID("handle", ok); err != nil {
			t.Errorf("checkID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a b", "tab\t", "nl\n", "\x00", string(make([]byte, 254))} {
		if err := checkID("handle", bad); err == nil {
			t.Errorf("checkID(%q) accepted", bad)
		}
	}
}
