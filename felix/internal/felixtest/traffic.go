package felixtest

import (
	"context"
	"errors"
	"fmt"
	"github.com/calico-docker/calico-libnetwork/internal/udpprobe"
	"io"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// greeting is what Serve's and ServeUDP's servers answer.
const greeting = "hi"

// Serve listens for TCP on addr inside n (port 0: any) and answers every
// connection with "hi". It stops when the test ends.
func Serve(tb testing.TB, n *NS, addr netip.AddrPort) netip.AddrPort {
	tb.Helper()
	var l net.Listener
	err := n.NS.Do(func() (err error) {
		l, err = net.Listen("tcp", addr.String())
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(greeting))
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).AddrPort()
}

// ServeUDP answers every datagram to addr inside n with "hi".
func ServeUDP(tb testing.TB, n *NS, addr netip.AddrPort) netip.AddrPort {
	tb.Helper()
	var c *net.UDPConn
	err := n.NS.Do(func() (err error) {
		c, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 64)
		for {
			_, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			c.WriteToUDPAddrPort([]byte(greeting), from)
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Reach connects over TCP from inside n to addr and expects "hi".
func Reach(n *NS, addr netip.AddrPort) error {
	return TCP(n, netip.AddrPort{}, addr, time.Second)
}

// TCP connects from inside n to dst, from src when it is valid (port 0:
// any), and expects "hi" within timeout.
func TCP(n *NS, src, dst netip.AddrPort, timeout time.Duration) error {
	return exchange(n, "tcp", src, dst, timeout)
}

// UDP sends a datagram from inside n to dst, from src when valid, and
// expects "hi" back within timeout.
func UDP(n *NS, src, dst netip.AddrPort, timeout time.Duration) error {
	return exchange(n, "udp", src, dst, timeout)
}

func exchange(n *NS, network string, src, dst netip.AddrPort, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout, Control: reuseAddr}
	if src.IsValid() {
		if network == "tcp" {
			d.LocalAddr = net.TCPAddrFromAddrPort(src)
		} else {
			d.LocalAddr = net.UDPAddrFromAddrPort(src)
		}
	}
	var c net.Conn
	err := n.NS.Do(func() (err error) {
		c, err = d.Dial(network, dst.String())
		return err
	})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if network == "udp" {
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
	}
	buf := make([]byte, len(greeting))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != greeting {
		return fmt.Errorf("%s from %s to %s: read %q: %w", network, c.LocalAddr(), dst, buf, err)
	}
	return nil
}

// reuseAddr lets a test reuse a fixed source port right after a previous
// connection from it.
func reuseAddr(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	return errors.Join(err, serr)
}

// Ping sends one ICMP echo request from inside n to dst with ping(8) and
// reports whether a reply came back within timeout (whole seconds, at
// least one).
func Ping(n *NS, dst netip.Addr, timeout time.Duration) error {
	secs := max(1, int(timeout.Round(time.Second)/time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
	defer cancel()
	_, err := n.NS.Run(ctx, nil, "ping", "-n", "-q", "-c", "1", "-W", strconv.Itoa(secs), dst.String())
	return err
}

// Sink records the UDP datagrams that reach it: a spoofed packet's replies
// go elsewhere, so only the receiving end can tell whether it got through.
type Sink = udpprobe.Sink

// NewSink listens for UDP on addr inside n until the test ends.
func NewSink(tb testing.TB, n *NS, addr netip.AddrPort) *Sink {
	tb.Helper()
	s, err := udpprobe.Listen(n.NS, addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// SendUDP sends one datagram with payload from src (which must be an
// address of n's) to dst.
func SendUDP(n *NS, src netip.Addr, dst netip.AddrPort, payload string) error {
	return udpprobe.Send(n.NS, src, dst, payload)
}
