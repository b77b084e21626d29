package resources

import (
	"slices"
	"strings"
	"testing"
)

func TestParseProtoPorts(t *testing.T) {
	tests := []struct {
		in   string
		want []ProtoPort
		err  string
	}{
		{"tcp:22,udp:68", []ProtoPort{{"tcp", 22, ""}, {"udp", 68, ""}}, ""},
		{" 22 , SCTP:9 ", []ProtoPort{{"tcp", 22, ""}, {"sctp", 9, ""}}, ""},
		{"tcp:10.0.0.0/8:2379", []ProtoPort{{"tcp", 2379, "10.0.0.0/8"}}, ""},
		{"udp:[fd00::/64]:53", []ProtoPort{{"udp", 53, "fd00::/64"}}, ""},
		{"none", []ProtoPort{}, ""},
		{"", []ProtoPort{}, ""},
		{"icmp:22", nil, `entry 1 "icmp:22": protocol "icmp" must be tcp, udp or sctp`},
		{"tcp:22,tcp:ssh", nil, `entry 2 "tcp:ssh": port "ssh" must be a number from 1 to 65535`},
		{"tcp:0", nil, "from 1 to 65535"},
		{"tcp:70000", nil, "from 1 to 65535"},
		{"tcp:22,", nil, `entry 2 "": is empty`},
		{"tcp:300.1.1.1/8:22", nil, `net "300.1.1.1/8" is not a CIDR`},
	}
	for _, tc := range tests {
		got, err := ParseProtoPorts(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "write entries like tcp:22") {
				t.Errorf("%q: err = %v, want %q and the fix", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatProtoPortsRoundTrip(t *testing.T) {
	for _, ports := range [][]ProtoPort{DefaultFailsafeInboundHostPorts(), DefaultFailsafeOutboundHostPorts(),
		{{"udp", 53, "fd00::/64"}, {"tcp", 22, "10.0.0.0/8"}}, {}} {
		got, err := ParseProtoPorts(FormatProtoPorts(ports))
		if err != nil || !slices.Equal(got, ports) {
			t.Errorf("%s: round trip = %v, %v", FormatProtoPorts(ports), got, err)
		}
	}
}

func FuzzParseProtoPorts(f *testing.F) {
	for _, s := range []string{"tcp:22,udp:68", "none", "tcp:[fd00::/64]:53", "sctp:1.2.3.4:9", "22", ":::", "tcp:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := ParseProtoPorts(s)
		if err != nil {
			return
		}
		again, err := ParseProtoPorts(FormatProtoPorts(ports))
		if err != nil || !slices.Equal(again, ports) {
			t.Fatalf("%q: parsed %v, formatted %q, reparsed %v, %v", s, ports, FormatProtoPorts(ports), again, err)
		}
		for _, p := range ports {
			if p.Port == 0 || (p.Protocol != "tcp" && p.Protocol != "udp" && p.Protocol != "sctp") {
				t.Fatalf("%q: invalid port %+v accepted", s, p)
			}
		}
	})
}
