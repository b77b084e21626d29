package testbed

import (
	"context"
	"errors"
	"fmt"
	"github.com/calico-docker/calico-libnetwork/internal/udpprobe"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Serve listens for TCP on port (0: any) on every address inside the
// namespace and answers each connection with the client's address as the
// server sees it (so a test can tell whether it was NATed). close stops it.
func (n *NS) Serve(port int) (addr netip.AddrPort, close func(), err error) {
	var l net.Listener
	err = n.NS.Do(func() (err error) {
		l, err = net.Listen("tcp", ":"+strconv.Itoa(port)) // IPv4 and IPv6
		return err
	})
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			from := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
			_, _ = c.Write([]byte(from.String() + "\n"))
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).AddrPort(), func() { l.Close() }, nil
}

// Reach connects over TCP from inside the namespace to a Serve server at
// dst and returns the source address the server saw, within timeout.
func (n *NS) Reach(dst netip.AddrPort, timeout time.Duration) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := n.Dial(ctx, "tcp", dst.String())
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(c)
	seen, perr := netip.ParseAddr(strings.TrimSpace(string(b)))
	if err != nil || perr != nil {
		return netip.Addr{}, fmt.Errorf("tcp from %s to %s: read %q: %v", c.LocalAddr(), dst, b, errors.Join(err, perr))
	}
	return seen, nil
}

// Ping sends one ICMP echo request from inside the namespace and waits a
// second for the reply.
func (n *NS) Ping(dst netip.Addr) error {
	_, err := n.Run("ping", "-n", "-q", "-c", "1", "-W", "1", dst.String())
	return err
}

// Sink records the source address of each UDP datagram it receives.
type Sink = udpprobe.Sink

// Sink listens for UDP on addr (port 0: any) inside the namespace.
func (n *NS) Sink(addr netip.AddrPort) (*Sink, error) { return udpprobe.Listen(n.NS, addr) }

// SendUDP sends one datagram from inside the namespace.
func (n *NS) SendUDP(dst netip.AddrPort, payload string) error {
	return udpprobe.Send(n.NS, netip.Addr{}, dst, payload)
}
