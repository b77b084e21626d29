package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// NS is a named network namespace (under /run/netns, so `ip netns exec`
// works) that the bed created and deletes.
type NS struct {
	Name string
	Path string
	NS   *ns.NS
	NL   *netlink.Handle
}

// newNS creates a namespace named calt-<random>-<role> with lo up.
func newNS(role string) (*NS, error) {
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	name := testenv.NetNSPrefix + hex.EncodeToString(suffix) + "-" + role
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %v: %s", name, err, out)
	}
	n := &NS{Name: name, Path: testenv.NetNSDir + "/" + name}
	var err error
	if n.NS, err = ns.Open(n.Path); err != nil {
		n.delete()
		return nil, err
	}
	if n.NL, err = n.NS.NetlinkHandle(); err != nil {
		n.delete()
		return nil, err
	}
	if err := n.setUp("lo"); err != nil {
		n.delete()
		return nil, err
	}
	return n, nil
}

// delete closes the handles and deletes exactly this namespace.
func (n *NS) delete() error {
	if n.NL != nil {
		n.NL.Close()
	}
	if n.NS != nil {
		n.NS.Close()
	}
	if out, err := exec.Command("ip", "netns", "delete", n.Name).CombinedOutput(); err != nil {
		if _, serr := os.Stat(n.Path); os.IsNotExist(serr) {
			return nil
		}
		return fmt.Errorf("ip netns delete %s: %v: %s", n.Name, err, out)
	}
	return nil
}

// Run runs a command inside the namespace (30s at most) and returns its
// standard output.
func (n *NS) Run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.NS.Run(ctx, nil, name, args...)
	return string(out), err
}

func (n *NS) setUp(link string) error {
	l, err := n.NL.LinkByName(link)
	if err != nil {
		return fmt.Errorf("netns %s: %s: %w", n.Name, link, err)
	}
	return n.NL.LinkSetUp(l)
}

func (n *NS) addAddr(link string, p netip.Prefix) error {
	l, err := n.NL.LinkByName(link)
	if err != nil {
		return fmt.Errorf("netns %s: %s: %w", n.Name, link, err)
	}
	return n.NL.AddrAdd(l, &netlink.Addr{IPNet: ipNet(p)})
}

func (n *NS) sysctl(path, value string) error {
	return n.NS.Do(func() error { return os.WriteFile("/proc/sys/"+path, []byte(value), 0o644) })
}

// Dial connects from inside the namespace.
func (n *NS) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.NS.Do(func() (err error) {
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Routes lists the namespace's IPv4 main-table routes as `ip route` does.
func (n *NS) Routes() ([]string, error) {
	out, err := n.Run("ip", "-4", "route", "show", "table", "main")
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(out), "\n"), nil
}

// Routes6 lists the namespace's IPv6 main-table routes as `ip -6 route`
// does.
func (n *NS) Routes6() ([]string, error) {
	out, err := n.Run("ip", "-6", "route", "show", "table", "main")
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSpace(out), "\n"), nil
}

// addAddr6 adds an IPv6 address usable at once (no duplicate address
// detection: every address in the bed is unique).
func (n *NS) addAddr6(link string, p netip.Prefix) error {
	l, err := n.NL.LinkByName(link)
	if err != nil {
		return fmt.Errorf("netns %s: %s: %w", n.Name, link, err)
	}
	return n.NL.AddrAdd(l, &netlink.Addr{IPNet: ipNet(p), Flags: unix.IFA_F_NODAD})
}

// veth links namespace a (interface aName) with b (bName).
func veth(a *NS, aName string, b *NS, bName string) error {
	tmp := "tmp" + aName
	if err := a.NL.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: aName}, PeerName: tmp}); err != nil {
		return fmt.Errorf("veth %s in %s: %w", aName, a.Name, err)
	}
	peer, err := a.NL.LinkByName(tmp)
	if err != nil {
		return err
	}
	if err := a.NL.LinkSetNsFd(peer, int(*b.NS.Handle())); err != nil {
		return err
	}
	if peer, err = b.NL.LinkByName(tmp); err != nil {
		return err
	}
	if err := b.NL.LinkSetName(peer, bName); err != nil {
		return err
	}
	return errorsJoin(a.setUp(aName), b.setUp(bName))
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func bridge(name string) *netlink.Bridge {
	return &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
}
