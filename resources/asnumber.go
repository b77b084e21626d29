package resources

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ASNumber is a BGP AS number. As in Calico, YAML and JSON give it as a
// number (64512) or as a string holding the number ("64512") or its
// dotted form, two 16-bit halves ("1.10" is 1×65536 + 10 = 65546). A
// dotted number must be quoted: unquoted, YAML reads 1.10 as the decimal
// 1.1. It is always written back as a number.
type ASNumber uint32

// ParseASNumber reads an AS number in plain or dotted notation.
func ParseASNumber(s string) (ASNumber, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return ASNumber(n), nil
	}
	hi, lo, ok := strings.Cut(s, ".")
	if ok {
		h, errH := strconv.ParseUint(hi, 10, 16)
		l, errL := strconv.ParseUint(lo, 10, 16)
		if errH == nil && errL == nil {
			return ASNumber(h<<16 | l), nil
		}
	}
	return 0, fmt.Errorf("%q %s", s, notAnASNumber)
}

const notAnASNumber = `is not an AS number: give 1-4294967295, or the dotted form of two numbers of 0-65535 in quotes ("65000.100")`

// UnmarshalJSON implements json.Unmarshaler: a number, or a string in
// plain or dotted notation.
func (a *ASNumber) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		n, err := ParseASNumber(s)
		if err != nil {
			return errors.New(notAnASNumber) // the decoder shows the value
		}
		*a = n
		return nil
	}
	n, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		return errors.New(notAnASNumber)
	}
	*a = ASNumber(n)
	return nil
}

// String is the plain notation.
func (a ASNumber) String() string { return strconv.FormatUint(uint64(a), 10) }
