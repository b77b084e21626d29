package ipam

import (
	"strings"
	"testing"
)

// TestWriteUsageShapes: counts beyond five digits print as calicoctl's
// %.5g does (an IPv6 /64 holds 1.8447e+19 addresses), a block whose pool
// was removed shows as a Block row after every pool, without a pool row.
func TestWriteUsageShapes(t *testing.T) {
	u := &ipamUsage{
		Pools: []poolUsage{{Name: "v6", CIDR: "fd00::/64", Total: "18446744073709551616", InUse: 2, Reserved: "0", Free: "18446744073709551614"}},
		Blocks: []blockUsage{
			{CIDR: "10.9.0.0/26", Total: 64, InUse: 1, Free: 63},
			{CIDR: "fd00::/122", Pool: "v6", Total: 64, InUse: 2, Free: 62},
		},
	}
	var b strings.Builder
	if err := writeUsage(&b, u, false, true); err != nil {
		t.Fatal(err)
	}
	want := `+----------+-------------+------------+------------+--------------+-------------------+
| GROUPING | CIDR        | IPS TOTAL  | IPS IN USE | IPS RESERVED | IPS FREE          |
+----------+-------------+------------+------------+--------------+-------------------+
| IP Pool  | fd00::/64   | 1.8447e+19 |     2 (0%) |       0 (0%) | 1.8447e+19 (100%) |
| Block    | fd00::/122  |         64 |     2 (3%) |       0 (0%) |          62 (97%) |
| Block    | 10.9.0.0/26 |         64 |     1 (2%) |       0 (0%) |          63 (98%) |
+----------+-------------+------------+------------+--------------+-------------------+
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWriteHolderWording: calicoctl's sentences for a free address and
// for one allocated without attributes or handle.
func TestWriteHolderWording(t *testing.T) {
	for _, tc := range []struct {
		h    addressHolder
		want string
	}{
		{addressHolder{IP: "10.0.0.9"}, "10.0.0.9 is not assigned\n"},
		{addressHolder{IP: "10.0.0.9", Allocated: true}, "IP 10.0.0.9 is in use\nHandle ID: <none>\nNo Active Owner attributes defined\n"},
	} {
		var b strings.Builder
		writeHolder(&b, &tc.h)
		if b.String() != tc.want {
			t.Errorf("got %q, want %q", b.String(), tc.want)
		}
	}
}
