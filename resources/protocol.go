package resources

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Protocol is a protocol name (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite) or number.
type Protocol struct {
	Name   string // canonical name, empty when given as a number
	Number uint8
}

var protocolNumbers = map[string]uint8{"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPv6": 58, "SCTP": 132, "UDPLite": 136}

// ParseProtocol parses a protocol name (any case) or a number 1-255.
func ParseProtocol(s string) (Protocol, error) {
	for name, num := range protocolNumbers {
		if strings.EqualFold(name, s) {
			return Protocol{Name: name, Number: num}, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 255 {
		return Protocol{}, fmt.Errorf("protocol %q: use TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number from 1 to 255", s)
	}
	return ProtocolFromNumber(uint8(n)), nil
}

// ProtocolFromNumber returns the protocol with that number, named if known.
func ProtocolFromNumber(n uint8) Protocol {
	for name, num := range protocolNumbers {
		if num == n {
			return Protocol{Name: name, Number: n}
		}
	}
	return Protocol{Number: n}
}

// String returns the name, or the number when there is no name.
func (p Protocol) String() string {
	if p.Name != "" {
		return p.Name
	}
	return strconv.Itoa(int(p.Number))
}

// IsICMP reports ICMP or ICMPv6.
func (p *Protocol) IsICMP() bool { return p.Number == 1 || p.Number == 58 }

// HasPorts reports whether ports apply to the protocol.
func (p *Protocol) HasPorts() bool {
	return p.Number == 6 || p.Number == 17 || p.Number == 132 || p.Number == 136
}

// MarshalJSON writes the name, or the number when unnamed.
func (p Protocol) MarshalJSON() ([]byte, error) {
	if p.Name != "" {
		return json.Marshal(p.Name)
	}
	return json.Marshal(p.Number)
}

// UnmarshalJSON reads a name or a number.
func (p *Protocol) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("protocol must be a name or a number, not %s", b)
		}
		s = strconv.Itoa(n)
	}
	parsed, err := ParseProtocol(s)
	if err != nil {
		return err
	}
	*p = parsed
	return nil
}
