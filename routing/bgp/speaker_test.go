package bgp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))
var _ = os.Stderr

// freePort returns a TCP port free on addr a moment ago.
func freePort(t *testing.T, addr string) int { return freePortAt(t, addr) }

func freePortAt(t testing.TB, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// pair is two speakers on loopback addresses peering with each other.
type pair struct {
	a, b         *Speaker
	stopA, stopB context.CancelFunc
	addrA, addrB netip.Addr
	portA, portB int
	asnA, asnB   uint32
}

func startSpeaker(t *testing.T, cfg Config) (*Speaker, context.CancelFunc) {
	cfg.Logger = quiet
	if os.Getenv("BGPDEBUG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go s.Run(ctx)
	t.Cleanup(func() { cancel(); <-s.Done() })
	return s, cancel
}

// newPair makes speakers on 127.0.<net>.11 and .12 (tests running in
// parallel use different nets).
func newPair(t *testing.T, net byte, asnA, asnB uint32) *pair {
	p := &pair{addrA: netip.AddrFrom4([4]byte{127, 0, net, 11}), addrB: netip.AddrFrom4([4]byte{127, 0, net, 12}), asnA: asnA, asnB: asnB}
	p.portA, p.portB = freePort(t, p.addrA.String()), freePort(t, p.addrB.String())
	p.a, p.stopA = startSpeaker(t, Config{})
	p.b, p.stopB = startSpeaker(t, Config{})
	return p
}

func (p *pair) configureA(exports ...string) {
	p.a.SetDesired(Desired{
		Global:  &Global{ASN: p.asnA, RouterID: p.addrA, ListenPort: p.portA},
		Peers:   []Peer{{Address: p.addrB, Port: p.portB, ASN: p.asnB, Type: PeerMesh, Name: "b"}},
		Exports: prefixes(exports...),
	})
}

func (p *pair) configureB(exports ...string) {
	p.b.SetDesired(Desired{
		Global:  &Global{ASN: p.asnB, RouterID: p.addrB, ListenPort: p.portB},
		Peers:   []Peer{{Address: p.addrA, Port: p.portA, ASN: p.asnA, Type: PeerGlobal, Name: "a", Passive: true}},
		Exports: prefixes(exports...),
	})
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func learnedExactly(s *Speaker, nh netip.Addr, want ...string) func() error {
	return func() error {
		got := s.Learned()
		if len(got) != len(want) {
			return fmt.Errorf("learned %v, want %v", got, want)
		}
		for _, w := range want {
			r, ok := got[netip.MustParsePrefix(w)]
			if !ok || r.NextHop != nh {
				return fmt.Errorf("learned %v, want %s via %s", got, w, nh)
			}
		}
		return nil
	}
}

func TestSpeakersExchangeRoutes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		net        byte
		asnA, asnB uint32
	}{{"iBGP", 1, 64512, 64512}, {"eBGP", 2, 64512, 64511}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, tc.net, tc.asnA, tc.asnB)
			p.configureA("10.1.0.0/26", "10.1.0.64/26")
			p.configureB("10.2.0.0/26", "10.9.9.9/32")
			eventually(t, "A learns B's routes", learnedExactly(p.a, p.addrB, "10.2.0.0/26", "10.9.9.9/32"))
			eventually(t, "B learns A's routes", learnedExactly(p.b, p.addrA, "10.1.0.0/26", "10.1.0.64/26"))
			eventually(t, "both synced", func() error {
				if !p.a.Synced() || !p.b.Synced() {
					return fmt.Errorf("synced a=%v b=%v: %+v", p.a.Synced(), p.b.Synced(), p.a.Status())
				}
				return nil
			})
			st := p.a.Status()
			if !st.Running || len(st.Peers) != 1 || st.Peers[0].State != "Established" || st.Peers[0].Type != PeerMesh ||
				st.Peers[0].Since.IsZero() || st.Exported != 2 || st.Learned != 2 {
				t.Errorf("status = %+v", st)
			}
			// A withdraws one prefix and announces another.
			p.configureA("10.1.0.0/26", "10.1.1.0/24")
			eventually(t, "B follows A's exports", learnedExactly(p.b, p.addrA, "10.1.0.0/26", "10.1.1.0/24"))
			// B removes the peer: A forgets B's routes.
			p.b.SetDesired(Desired{Global: &Global{ASN: p.asnB, RouterID: p.addrB, ListenPort: p.portB}})
			eventually(t, "A drops B's routes when B removes the peer", learnedExactly(p.a, p.addrB))
		})
	}
}

func TestGracefulStopKeepsRoutesAtPeer(t *testing.T) {
	t.Parallel()
	p := newPair(t, 3, 64512, 64512)
	p.configureA("10.1.0.0/26")
	p.configureB()
	eventually(t, "B learns A's block", learnedExactly(p.b, p.addrA, "10.1.0.0/26"))
	p.stopA()
	<-p.a.Done()
	// B sees the session end, and keeps the route while A restarts.
	eventually(t, "B sees A's session end", func() error {
		if st := p.b.Status(); st.Peers[0].State == "Established" {
			return fmt.Errorf("peer still established: %+v", st.Peers[0])
		}
		return nil
	})
	time.Sleep(time.Second)
	if _, ok := p.b.Learned()[netip.MustParsePrefix("10.1.0.0/26")]; !ok {
		t.Fatal("B dropped A's route during A's graceful restart")
	}
	// A comes back announcing something else: after its End-of-RIB, B
	// replaces the stale route by the new one.
	p.a, p.stopA = startSpeaker(t, Config{})
	p.configureA("10.1.0.64/26")
	eventually(t, "B converges on the restarted A", func() error {
		return learnedExactly(p.b, p.addrA, "10.1.0.64/26")()
	})
}

func TestHardStopWithdrawsAtPeer(t *testing.T) {
	t.Parallel()
	p := newPair(t, 4, 64512, 64512)
	p.a, p.stopA = startSpeaker(t, Config{DisableGracefulStop: true})
	p.configureA("10.1.0.0/26")
	p.configureB()
	eventually(t, "B learns A's block", learnedExactly(p.b, p.addrA, "10.1.0.0/26"))
	p.stopA()
	eventually(t, "B drops A's route at once", learnedExactly(p.b, p.addrA))
}

func TestRouteReflectorReflects(t *testing.T) {
	t.Parallel()
	rr := netip.MustParseAddr("127.0.5.21")
	c1, c2 := netip.MustParseAddr("127.0.5.22"), netip.MustParseAddr("127.0.5.23")
	prr, p1, p2 := freePort(t, rr.String()), freePort(t, c1.String()), freePort(t, c2.String())
	srr, _ := startSpeaker(t, Config{})
	s1, _ := startSpeaker(t, Config{})
	s2, _ := startSpeaker(t, Config{})
	srr.SetDesired(Desired{Global: &Global{ASN: 64512, RouterID: rr, ListenPort: prr}, Peers: []Peer{
		{Address: c1, Port: p1, ASN: 64512, Type: PeerNode, RRClient: true, ClusterID: "224.0.0.1"},
		{Address: c2, Port: p2, ASN: 64512, Type: PeerNode, RRClient: true, ClusterID: "224.0.0.1"},
	}})
	s1.SetDesired(Desired{Global: &Global{ASN: 64512, RouterID: c1, ListenPort: p1},
		Peers: []Peer{{Address: rr, Port: prr, ASN: 64512, Type: PeerNode, Passive: true}}, Exports: prefixes("10.1.0.0/26")})
	s2.SetDesired(Desired{Global: &Global{ASN: 64512, RouterID: c2, ListenPort: p2},
		Peers: []Peer{{Address: rr, Port: prr, ASN: 64512, Type: PeerNode, Passive: true}}, Exports: prefixes("10.2.0.0/26")})
	// Reflected routes keep their original next hop.
	eventually(t, "client 1 learns client 2's block via the reflector", learnedExactly(s1, c2, "10.2.0.0/26"))
	eventually(t, "client 2 learns client 1's block via the reflector", learnedExactly(s2, c1, "10.1.0.0/26"))
}
