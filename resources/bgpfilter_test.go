package resources

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseCommunity: any text either parses into 2 (standard, each part
// at most 65535) or 3 parts (large) that print back as the input's
// numbers, or is refused.
func FuzzParseCommunity(f *testing.F) {
	for _, s := range []string{"65000:100", "4294967295:1:2", "65536:1", "1:2:3:4", "x:1", "01:2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parts, large, err := ParseCommunity(s)
		if err != nil {
			return
		}
		if len(parts) != map[bool]int{false: 2, true: 3}[large] {
			t.Fatalf("%q: %d parts, large %v", s, len(parts), large)
		}
		var strs []string
		for _, p := range parts {
			if !large && p > 65535 {
				t.Fatalf("%q: standard part %d above 65535", s, p)
			}
			strs = append(strs, strconv.FormatUint(uint64(p), 10))
		}
		if again, _, err := ParseCommunity(strings.Join(strs, ":")); err != nil || !slices.Equal(again, parts) {
			t.Fatalf("%q: printed back %v does not parse to the same: %v %v", s, strs, again, err)
		}
	})
}
