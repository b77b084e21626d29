package bgp

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// exportRoutes is how many routes BenchmarkExportToBIRD announces.
const exportRoutes = 10000

// blocks returns n /26 blocks from base.
func blocks(base string, n int) []netip.Prefix {
	a := netip.MustParseAddr(base).As4()
	start := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	out := make([]netip.Prefix, n)
	for i := range out {
		v := start + uint32(i)*64
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 26)
	}
	return out
}

// timeImport waits for protocol proto of bird to come up, then returns
// how long from then it took to hold want routes. Both ends are polled
// (birdc answers in a few ms), so the figure is good to about 10 ms.
func timeImport(b *testing.B, bird *testbed.BIRD, proto string, want int) time.Duration {
	deadline := time.Now().Add(2 * time.Minute)
	for !bird.Established(proto) {
		if time.Now().After(deadline) {
			b.Fatalf("%s never established", proto)
		}
		time.Sleep(2 * time.Millisecond)
	}
	up := time.Now()
	for {
		n, err := bird.Imported(proto)
		if err != nil {
			b.Fatal(err)
		}
		if n >= want {
			return time.Since(up)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s imported %d of %d", proto, n, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// BenchmarkExportToBIRD announces 10,000 routes to a BIRD peer from this
// speaker and, in the same run, from another BIRD: the time from the
// session coming up to the receiver holding every route, for each. All
// three speakers talk over loopback addresses.
func BenchmarkExportToBIRD(b *testing.B) {
	testenv.RequireRoot(b)
	testenv.RequireTools(b, "bird", "birdc")
	recv, ours, other := netip.MustParseAddr("127.0.9.2"), netip.MustParseAddr("127.0.9.1"), netip.MustParseAddr("127.0.9.3")
	var gobgpTotal, birdTotal time.Duration
	for i := 0; i < b.N; i++ {
		pr, ps, pa := freePortB(b, recv.String()), freePortB(b, ours.String()), freePortB(b, other.String())
		receiver, err := testbed.RunBIRD(b.TempDir(), nil, recv, fmt.Sprintf(`
protocol bgp fromgobgp { local %s port %d as 64511; neighbor %s port %d as 64512; multihop; ipv4 { import all; export none; }; }
protocol bgp frombird { local %s port %d as 64511; neighbor %s port %d as 64513; multihop; ipv4 { import all; export none; }; }`,
			recv, pr, ours, ps, recv, pr, other, pa))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(receiver.Stop)
		s := New(Config{Logger: quiet})
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(func() { cancel(); <-s.Done() })
		go s.Run(ctx)
		s.SetDesired(Desired{Global: &Global{ASN: 64512, RouterID: ours, ListenPort: ps},
			Peers:   []Peer{{Address: recv, Port: pr, ASN: 64511, Type: PeerGlobal, Multihop: true}},
			Exports: blocks("10.128.0.0", exportRoutes)})
		gobgpTotal += timeImport(b, receiver, "fromgobgp", exportRoutes)
		cancel()
		<-s.Done()

		var static strings.Builder
		static.WriteString("protocol static statics { ipv4;\n")
		for _, p := range blocks("10.160.0.0", exportRoutes) {
			fmt.Fprintf(&static, "  route %s unreachable;\n", p)
		}
		static.WriteString("}\n")
		sender, err := testbed.RunBIRD(b.TempDir(), nil, other, static.String()+fmt.Sprintf(
			`protocol bgp tob { local %s port %d as 64513; neighbor %s port %d as 64511; multihop; ipv4 { import none; export all; }; }`,
			other, pa, recv, pr))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(sender.Stop)
		birdTotal += timeImport(b, receiver, "frombird", exportRoutes)
		sender.Stop()
		receiver.Stop()
	}
	gobgpMS := float64(gobgpTotal.Milliseconds()) / float64(b.N)
	birdMS := float64(birdTotal.Milliseconds()) / float64(b.N)
	b.ReportMetric(gobgpMS, "ours-ms")
	b.ReportMetric(birdMS, "bird-ms")
	b.ReportMetric(gobgpMS/birdMS, "ours/bird")
}

func freePortB(b *testing.B, addr string) int { return freePortAt(b, addr) }
