// Package autodetect finds this host's BGP address the way calico/node
// does, from the IP_AUTODETECTION_METHOD (IP6_AUTODETECTION_METHOD)
// setting:
//
//	first-found             the first usable address on any interface
//	                        that is not a known container or virtual
//	                        interface (docker*, cali*, veth*, tunl*, ...)
//	interface=REGEX[,...]   the first usable address of the first
//	                        interface matching a REGEX
//	skip-interface=REGEX[,...]  first-found, also skipping interfaces
//	                        matching a REGEX
//	can-reach=DEST          the source address the kernel would use to
//	                        reach DEST (an IP address; nothing is sent)
//	cidr=CIDR[,...]         the first address inside one of the CIDRs
//
// Interfaces are tried in the kernel's order (by index), skipping those
// that are down.
// "Usable" means a global unicast address of the family (not loopback,
// link-local or multicast). The result keeps the address's prefix length,
// as Node.spec.bgp.ipv4Address (CIDR form) wants it.
package autodetect

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
)

// DefaultMethod is calico/node's default.
const DefaultMethod = "first-found"

// defaultSkip are the interfaces first-found ignores (as calico/node).
var defaultSkip = []string{
	"^docker.*", "^cbr.*", "^dummy.*", "^virbr.*", "^lxcbr.*", "^veth.*", "^lo$", "^cali.*", "^tunl.*",
	"^flannel.*", "^kube-ipvs.*", "^cni.*", "^vxlan.calico.*", "^vxlan-v6.calico.*", "^wireguard.cali.*",
	"^nodelocaldns.*", "^br-.*",
}

// Method is a parsed autodetection method.
type Method struct {
	kind    string // first-found, interface, skip-interface, can-reach, cidr
	regexes []*regexp.Regexp
	dest    netip.Addr
	cidrs   []netip.Prefix
}

// String returns the method as the setting spells it.
func (m Method) String() string {
	switch m.kind {
	case "interface", "skip-interface":
		var s []string
		for _, r := range m.regexes {
			s = append(s, r.String())
		}
		return m.kind + "=" + strings.Join(s, ",")
	case "can-reach":
		return "can-reach=" + m.dest.String()
	case "cidr":
		var s []string
		for _, c := range m.cidrs {
			s = append(s, c.String())
		}
		return "cidr=" + strings.Join(s, ",")
	}
	return m.kind
}

// Parse parses a method; "" means first-found. Errors say what to write.
func Parse(s string) (Method, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "first-found" {
		return Method{kind: "first-found"}, nil
	}
	kind, arg, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(arg) == "" {
		return Method{}, fmt.Errorf("autodetection method %q: use first-found, interface=REGEX, skip-interface=REGEX, can-reach=ADDRESS or cidr=CIDR", s)
	}
	m := Method{kind: kind}
	switch kind {
	case "interface", "skip-interface":
		for _, r := range strings.Split(arg, ",") {
			re, err := regexp.Compile(strings.TrimSpace(r))
			if err != nil {
				return Method{}, fmt.Errorf("autodetection method %q: %q is not a regular expression: %w", s, r, err)
			}
			m.regexes = append(m.regexes, re)
		}
	case "can-reach":
		a, err := netip.ParseAddr(strings.TrimSpace(arg))
		if err != nil {
			return Method{}, fmt.Errorf("autodetection method %q: give an IP address to reach (host names are not resolved)", s)
		}
		m.dest = a.Unmap()
	case "cidr":
		for _, c := range strings.Split(arg, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(c))
			if err != nil {
				return Method{}, fmt.Errorf("autodetection method %q: %q is not a CIDR such as 10.0.0.0/8", s, c)
			}
			m.cidrs = append(m.cidrs, p.Masked())
		}
	default:
		return Method{}, fmt.Errorf("autodetection method %q: unknown method %q; use first-found, interface=, skip-interface=, can-reach= or cidr=", s, kind)
	}
	return m, nil
}

// Iface is one interface with its addresses, as Detect sees it.
type Iface struct {
	Name  string
	Addrs []netip.Prefix
}

// Detect finds an address of the family (4 or 6) in the current network
// namespace.
func (m Method) Detect(family int) (netip.Prefix, error) {
	if m.kind == "can-reach" {
		return m.canReach(family)
	}
	ifaces, err := Interfaces()
	if err != nil {
		return netip.Prefix{}, err
	}
	return m.Choose(ifaces, family)
}

// Choose applies a method (other than can-reach) to a list of interfaces.
func (m Method) Choose(ifaces []Iface, family int) (netip.Prefix, error) {
	skip := compileAll(defaultSkip)
	for _, ifc := range ifaces {
		switch m.kind {
		case "interface":
			if !anyMatch(m.regexes, ifc.Name) {
				continue
			}
		case "skip-interface":
			if anyMatch(m.regexes, ifc.Name) || anyMatch(skip, ifc.Name) {
				continue
			}
		default: // first-found, cidr
			if anyMatch(skip, ifc.Name) {
				continue
			}
		}
		for _, a := range ifc.Addrs {
			if usable(a, family) && (m.kind != "cidr" || inAny(m.cidrs, a.Addr())) {
				return a, nil
			}
		}
	}
	return netip.Prefix{}, fmt.Errorf("no IPv%d address found with autodetection method %s: set the address explicitly (IP=ADDRESS/LEN) or choose another method", family, m)
}

// canReach asks the kernel which source address it would use towards
// dest (a UDP "connect" sends nothing), then finds its prefix length.
func (m Method) canReach(family int) (netip.Prefix, error) {
	if (family == 4) != m.dest.Is4() {
		return netip.Prefix{}, fmt.Errorf("autodetection method %s: the destination is not IPv%d", m, family)
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(m.dest, 9)))
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("autodetection method %s: no route to %s: %w", m, m.dest, err)
	}
	src := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	c.Close()
	ifaces, err := Interfaces()
	if err != nil {
		return netip.Prefix{}, err
	}
	for _, ifc := range ifaces {
		for _, a := range ifc.Addrs {
			if a.Addr() == src {
				return a, nil
			}
		}
	}
	return netip.PrefixFrom(src, src.BitLen()), nil
}

// Interfaces lists the interfaces that are up, with their addresses.
func Interfaces() ([]Iface, error) {
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	var out []Iface
	for _, l := range links {
		if l.Attrs().Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return nil, fmt.Errorf("list addresses of %s: %w", l.Attrs().Name, err)
		}
		ifc := Iface{Name: l.Attrs().Name}
		for _, a := range addrs {
			ip, _ := netip.AddrFromSlice(a.IP)
			ones, _ := a.Mask.Size()
			ifc.Addrs = append(ifc.Addrs, netip.PrefixFrom(ip.Unmap(), ones))
		}
		out = append(out, ifc)
	}
	return out, nil
}

func usable(p netip.Prefix, family int) bool {
	a := p.Addr()
	return a.IsValid() && (family == 4) == a.Is4() && a.IsGlobalUnicast() && !a.IsLinkLocalUnicast()
}

func compileAll(res []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(res))
	for i, r := range res {
		out[i] = regexp.MustCompile(r)
	}
	return out
}

func anyMatch(res []*regexp.Regexp, s string) bool {
	return slices.ContainsFunc(res, func(r *regexp.Regexp) bool { return r.MatchString(s) })
}

func inAny(cidrs []netip.Prefix, a netip.Addr) bool {
	return slices.ContainsFunc(cidrs, func(c netip.Prefix) bool { return c.Contains(a) })
}
