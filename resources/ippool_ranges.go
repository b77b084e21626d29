package resources

import (
	"fmt"
	"net/netip"
)

// specialRange is an address range no IP pool may overlap: workloads
// cannot use addresses that the kernel or the network treat specially.
type specialRange struct {
	prefix netip.Prefix
	what   string
}

// specialRanges lists them (Calico refuses the link-local ones; the
// others can never work as workload addresses either).
var specialRanges = []specialRange{
	{netip.MustParsePrefix("0.0.0.0/8"), `"this network" (0.0.0.0/8)`},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (127.0.0.0/8)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (169.254.0.0/16); workloads route via 169.254.1.1"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast (224.0.0.0/4)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved and broadcast (240.0.0.0/4)"},
	{netip.MustParsePrefix("::/128"), "the unspecified address (::)"},
	{netip.MustParsePrefix("::1/128"), "loopback (::1)"},
	{netip.MustParsePrefix("::ffff:0:0/96"), "IPv4-mapped IPv6 (::ffff:0:0/96): use the IPv4 CIDR for an IPv4 pool"},
	{netip.MustParsePrefix("fe80::/10"), "link-local (fe80::/10)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast (ff00::/8)"},
}

// checkSpecialRanges refuses a pool CIDR overlapping a special range.
func checkSpecialRanges(v *validator, field string, pfx netip.Prefix) {
	if pfx.Addr().Is4In6() {
		v.add(field, pfx.String(), "is an IPv4-mapped IPv6 range: addresses in it cannot be released like others; use the IPv4 CIDR %s for an IPv4 pool", unmapPrefix(pfx))
		return
	}
	for _, r := range specialRanges {
		if r.prefix.Addr().Is4() == pfx.Addr().Is4() && r.prefix.Overlaps(pfx) {
			v.add(field, pfx.String(), "overlaps %s: choose a private range such as 10.0.0.0/8 or fd00::/8", r.what)
			return
		}
	}
}

func unmapPrefix(p netip.Prefix) string {
	bits := p.Bits() - 96
	if bits < 0 {
		return "a.b.c.d/n"
	}
	return fmt.Sprintf("%s/%d", p.Addr().Unmap(), bits)
}
