package flowlogs

import (
	"net/netip"
	"testing"
	"time"
)

// tcpSYN is an IPv4 TCP packet's first 24 bytes: 10.0.0.1:40000 ->
// 10.0.0.2:80, 60 bytes long.
var tcpSYN = []byte{0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0, 80}

// A packet logged on the netdev egress hook starts at its Ethernet
// header, which its prefix's lower-case first letter says: it parses as
// the same packet logged on an IP hook, under the upper-case prefix.
func TestParsePacketEthernet(t *testing.T) {
	at := time.Unix(1, 0)
	want := Packet{Tuple: Tuple{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: 6,
		SrcPort: 40000, DstPort: 80}, Prefix: "AI0|pro:net1", Bytes: 60, Time: at}
	frame := append([]byte{0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0x42, 0, 0, 0, 0, 1, 0x08, 0}, tcpSYN...)
	for _, tc := range []struct {
		payload []byte
		prefix  string
	}{{tcpSYN, "AI0|pro:net1\x00"}, {frame, "aI0|pro:net1"}} {
		got, ok := ParsePacket(tc.payload, tc.prefix, at)
		if !ok || got != want {
			t.Errorf("prefix %q: %+v (%v), want %+v", tc.prefix, got, ok, want)
		}
	}
	if _, ok := ParsePacket(frame[:10], "aI0|x", at); ok {
		t.Error("a payload shorter than an Ethernet header parsed")
	}
}

func FuzzParsePacket(f *testing.F) {
	f.Add(tcpSYN, "AI0|pro:net1")
	f.Add(append(make([]byte, 14), tcpSYN...), "dE1|gnp:x")
	f.Fuzz(func(t *testing.T, b []byte, prefix string) {
		p, ok := ParsePacket(b, prefix, time.Time{})
		if ok && !p.Src.IsValid() {
			t.Errorf("parsed without a source: %+v", p)
		}
	})
}
