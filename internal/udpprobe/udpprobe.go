// Package udpprobe tells, for tests, whether UDP datagrams sent inside one
// network namespace reach another, and from which source address they
// arrive (so a test can see NAT, or that a spoofed packet got through:
// replies to a spoofed source go elsewhere, so only the receiver knows).
package udpprobe

import (
	"net"
	"net/netip"
	"sync"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// Sink records the source address of each datagram it receives, by payload.
type Sink struct {
	Addr netip.AddrPort
	c    *net.UDPConn
	mu   sync.Mutex
	got  map[string]netip.Addr
}

// Listen starts a sink on addr (port 0: any) inside n.
func Listen(n *ns.NS, addr netip.AddrPort) (*Sink, error) {
	var c *net.UDPConn
	err := n.Do(func() (err error) {
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		return nil, err
	}
	s := &Sink{Addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), c: c, got: map[string]netip.Addr{}}
	go s.read()
	return s, nil
}

func (s *Sink) read() {
	buf := make([]byte, 256)
	for {
		k, from, err := s.c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.got[string(buf[:k])] = from.Addr().Unmap()
		s.mu.Unlock()
	}
}

// Received reports whether the datagram with this payload arrived, and
// from which source address.
func (s *Sink) Received(payload string) (netip.Addr, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.got[payload]
	return a, ok
}

// Close stops the sink.
func (s *Sink) Close() { s.c.Close() }

// Send sends one datagram with payload from inside n to dst, from src when
// it is valid (it must be an address of n's), else from the address the
// kernel picks.
func Send(n *ns.NS, src netip.Addr, dst netip.AddrPort, payload string) error {
	var local *net.UDPAddr
	if src.IsValid() {
		local = &net.UDPAddr{IP: src.AsSlice()}
	}
	return n.Do(func() error {
		c, err := net.DialUDP("udp", local, net.UDPAddrFromAddrPort(dst))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte(payload))
		return err
	})
}
