package felixtest

import (
	"os"
	"strconv"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// BenchScale is CALICO_BENCH_SCALE, the endpoints and policies a scale
// benchmark programs (default 1000).
func BenchScale(b *testing.B) int {
	b.Helper()
	return BenchInt(b, "CALICO_BENCH_SCALE", 1000, "a number of endpoints (and policies) such as 10000")
}

// BenchInt is the positive number environment variable name sets for a
// benchmark (def when unset); anything else fails b, saying what it wants
// (want, as "a number of … such as …").
func BenchInt(b *testing.B, name string, def int, want string) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		b.Fatalf("%s=%q: want %s", name, s, want)
	}
	return v
}

// AcceptTCPFromSet is the expressions of a policy rule as the nftables
// benchmarks write it by hand: TCP to port from an IPv4 address in set,
// accepted.
func AcceptTCPFromSet(set *nftables.Set, port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{byte(port >> 8), byte(port)}},
		&expr.Verdict{Kind: expr.VerdictAccept},
	}
}
