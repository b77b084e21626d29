package flowlogs

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"
)

// Tuple is a connection as its first packet saw it.
type Tuple struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16 // 0 for protocols without ports
}

// Packet is one logged packet: its tuple, the NFLOG prefix of the rule
// that logged it and its length on the wire (IP header included).
type Packet struct {
	Tuple
	Prefix string
	Bytes  int
	Time   time.Time
}

// Counts are a connection's packets and bytes, both directions.
type Counts struct {
	Packets, Bytes uint64
	// Done: the connection has ended (TCP TIME_WAIT or CLOSE); its counts
	// are final.
	Done bool
}

// ethernetHeader is the link layer header before the IP header of a
// packet logged on the netdev egress hook (felix/nftrules' egress mode),
// whose prefix starts in lower case ("ai…" for "AI…") to say so.
const ethernetHeader = 14

// ParsePacket decodes the IP and transport headers of a logged packet
// (after an Ethernet header when its prefix starts in lower case: the
// prefix is then given back upper case).
func ParsePacket(b []byte, prefix string, at time.Time) (Packet, bool) {
	prefix = strings.TrimRight(prefix, "\x00")
	if prefix != "" && prefix[0] >= 'a' && prefix[0] <= 'z' {
		if len(b) < ethernetHeader {
			return Packet{}, false
		}
		b, prefix = b[ethernetHeader:], strings.ToUpper(prefix[:1])+prefix[1:]
	}
	p := Packet{Prefix: prefix, Time: at}
	if len(b) < 1 {
		return p, false
	}
	var l4 []byte
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return p, false
		}
		ihl := int(b[0]&0x0f) * 4
		p.Src, p.Dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		p.Proto, p.Bytes = b[9], int(binary.BigEndian.Uint16(b[2:4]))
		if ihl >= 20 && len(b) >= ihl {
			l4 = b[ihl:]
		}
	case 6:
		if len(b) < 40 {
			return p, false
		}
		p.Src, p.Dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		p.Proto, p.Bytes = b[6], 40+int(binary.BigEndian.Uint16(b[4:6]))
		l4 = b[40:]
	default:
		return p, false
	}
	if hasPorts(p.Proto) && len(l4) >= 4 {
		p.SrcPort, p.DstPort = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	}
	return p, true
}

// hasPorts: TCP, UDP, SCTP, UDP-Lite.
func hasPorts(proto uint8) bool { return proto == 6 || proto == 17 || proto == 132 || proto == 136 }
