package felixtest

import (
	"os"
	"strconv"
	"testing"
)

// BenchScale is CALICO_BENCH_SCALE, the endpoints and policies a scale
// benchmark programs (default 1000).
func BenchScale(b *testing.B) int {
	s := os.Getenv("CALICO_BENCH_SCALE")
	if s == "" {
		return 1000
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		b.Fatalf("CALICO_BENCH_SCALE=%q: want a number of endpoints (and policies) such as 10000", s)
	}
	return v
}
