package resources

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Port is a port number or an inclusive range "min:max".
type Port struct {
	Min, Max uint16
}

// ParsePort reads "80", "1000:2000" or a number.
func ParsePort(s string) (Port, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), ":")
	min, err := parsePortNum(lo)
	if err != nil {
		return Port{}, fmt.Errorf("port %q: %w", s, err)
	}
	if !isRange {
		return Port{Min: min, Max: min}, nil
	}
	max, err := parsePortNum(hi)
	if err != nil {
		return Port{}, fmt.Errorf("port range %q: %w", s, err)
	}
	if max < min {
		return Port{}, fmt.Errorf("port range %q: the first port must not exceed the second", s)
	}
	return Port{Min: min, Max: max}, nil
}

func parsePortNum(s string) (uint16, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("not a port number: named ports are not supported on Docker; give a number 0-65535 or a range 1000:2000")
	}
	if n < 0 || n > 65535 {
		return 0, fmt.Errorf("%d is out of range: use 0-65535", n)
	}
	return uint16(n), nil
}

// String renders "80" or "1000:2000".
func (p Port) String() string {
	if p.Min == p.Max {
		return strconv.Itoa(int(p.Min))
	}
	return fmt.Sprintf("%d:%d", p.Min, p.Max)
}

// MarshalJSON writes a number for a single port, a string for a range.
func (p Port) MarshalJSON() ([]byte, error) {
	if p.Min == p.Max {
		return json.Marshal(p.Min)
	}
	return json.Marshal(p.String())
}

// UnmarshalJSON reads a number or a string.
func (p *Port) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("port must be a number or a \"min:max\" string, not %s", b)
		}
		s = strconv.Itoa(n)
	}
	parsed, err := ParsePort(s)
	if err != nil {
		return err
	}
	*p = parsed
	return nil
}
