package autodetect

import (
	"net/netip"
	"strings"
	"testing"
)

func pfx(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

var hostIfaces = []Iface{
	{Name: "lo", Addrs: pfx("127.0.0.1/8", "::1/128")},
	{Name: "docker0", Addrs: pfx("172.17.0.1/16")},
	{Name: "eth1", Addrs: pfx("10.1.0.5/24", "fe80::1/64", "fd00:1::5/64")},
	{Name: "eth0", Addrs: pfx("169.254.3.3/16", "192.0.2.10/24")},
	{Name: "cali1234", Addrs: pfx("10.9.9.9/32")},
	{Name: "ens3", Addrs: pfx("203.0.113.7/25")},
}

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		method string
		family int
		want   string
	}{
		{"", 4, "10.1.0.5/24"}, // lo and docker0 are skipped
		{"first-found", 6, "fd00:1::5/64"},
		{"interface=eth1", 4, "10.1.0.5/24"},
		{"interface=ens.*,eth1", 4, "10.1.0.5/24"}, // first matching interface in kernel order
		{"interface=eth0", 4, "192.0.2.10/24"},     // its link-local address is skipped
		{"interface=ens.*", 4, "203.0.113.7/25"},
		{"skip-interface=eth.*", 4, "203.0.113.7/25"},
		{"cidr=203.0.113.0/24", 4, "203.0.113.7/25"},
		{"cidr=10.0.0.0/8, 172.16.0.0/12", 4, "10.1.0.5/24"}, // docker0 and cali* are skipped
		{"interface=docker0", 4, "172.17.0.1/16"},
	} {
		m, err := Parse(tc.method)
		if err != nil {
			t.Fatalf("%q: %v", tc.method, err)
		}
		got, err := m.Choose(hostIfaces, tc.family)
		if err != nil || got.String() != tc.want {
			t.Errorf("%q IPv%d = %v, %v; want %s", tc.method, tc.family, got, err, tc.want)
		}
	}
}

func TestChooseNothing(t *testing.T) {
	m, _ := Parse("interface=wlan.*")
	if _, err := m.Choose(hostIfaces, 4); err == nil || !strings.Contains(err.Error(), "set the address explicitly") {
		t.Errorf("err = %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"interface=", "interface=(", "can-reach=example.com", "cidr=10.0.0.0", "magic=1", "last-found"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

func TestCanReachLoopback(t *testing.T) {
	m, err := Parse("can-reach=127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Detect(4)
	if err != nil || got.Addr() != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("got %v, %v", got, err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"first-found", "interface=eth.*", "can-reach=10.0.0.1", "cidr=10.0.0.0/8,::/0", "skip-interface=a,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		if _, err := Parse(m.String()); err != nil {
			t.Errorf("Parse(%q).String() = %q does not parse again: %v", s, m.String(), err)
		}
	})
}
