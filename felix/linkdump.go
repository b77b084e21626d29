package felix

import (
	"encoding/binary"
	"fmt"
	"strconv"

	mnl "github.com/mdlayher/netlink"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Why dumps of our own: felix checks five or more per-interface settings
// of every workload interface at each full resync and restart, and
// reading them from /proc took 0.45–0.5 s of a core at 10,000 interfaces
// on a quiet machine (50,000 files opened, read and closed), up to 1 s
// beside the nftables read-back that wants both cores. The kernel puts an
// interface's IPv4 and IPv6 settings in every link dump (IFLA_AF_SPEC, as
// arrays of values), which netlink.LinkList parses and drops, and the ARP
// table's per-interface proxy_delay comes in one RTM_GETNEIGHTBL dump.
// Reading the settings out of the link dump felix takes anyway, and the
// ARP table's dump, costs less than an interface's /proc files
// (BenchmarkCheckSettings), but every interface of the host pays it: so it
// is done when many interfaces are to be checked (checkMany), and /proc is
// opened to change a setting, to read one the dumps did not give (IPv6's
// where IPv6 is off), or to check a few interfaces (a container started).

// confKey names a per-interface setting the dumps give (linkConf).
type confKey uint8

const (
	confUnknown   confKey = iota // a setting the dumps do not give
	v4Forwarding                 // net/ipv4/conf/IF/forwarding
	v4RPFilter                   // net/ipv4/conf/IF/rp_filter
	v4ProxyARP                   // net/ipv4/conf/IF/proxy_arp
	arpProxyDelay                // net/ipv4/neigh/IF/proxy_delay
	v6Forwarding                 // net/ipv6/conf/IF/forwarding
	v6AcceptRA                   // net/ipv6/conf/IF/accept_ra
	v6ProxyNDP                   // net/ipv6/conf/IF/proxy_ndp
	v6DisableIPv6                // net/ipv6/conf/IF/disable_ipv6
	numConfKeys
)

// The index of each setting in the kernel's arrays: IFLA_INET_CONF holds
// IPV4_DEVCONF_<X> - 1 (linux/ip.h), IFLA_INET6_CONF holds DEVCONF_<X>
// (linux/ipv6.h); x/sys/unix does not carry these enums.
var devconfIndex = [numConfKeys]int{
	v4Forwarding:  0, // IPV4_DEVCONF_FORWARDING (1)
	v4ProxyARP:    2, // IPV4_DEVCONF_PROXY_ARP (3)
	v4RPFilter:    7, // IPV4_DEVCONF_RP_FILTER (8)
	v6Forwarding:  0, // DEVCONF_FORWARDING
	v6AcceptRA:    3, // DEVCONF_ACCEPT_RA
	v6ProxyNDP:    22,
	v6DisableIPv6: 26,
}

// The neighbour table dump's attributes (linux/neighbour.h).
const (
	ndtaParms       = 6  // NDTA_PARMS: nested NDTPA_*
	ndtpaIfindex    = 1  // NDTPA_IFINDEX: u32
	ndtpaProxyDelay = 13 // NDTPA_PROXY_DELAY: u64, milliseconds
	// rtextFilterSkipStats asks a link dump to leave out the counters
	// (RTEXT_FILTER_SKIP_STATS), a quarter of each message; felix reads
	// none of them.
	rtextFilterSkipStats = 1 << 3
)

// linkConf is an interface's settings as the dumps gave them, in /proc's
// notation.
type linkConf struct {
	known uint16 // bit k: val[k] is set
	val   [numConfKeys]int64
}

func (c *linkConf) set(k confKey, v int64) {
	c.known |= 1 << k
	c.val[k] = v
}

// value returns setting k as /proc would show it, if the dumps gave it.
func (c *linkConf) value(k confKey) (string, bool) {
	if c == nil || k == confUnknown || c.known&(1<<k) == 0 {
		return "", false
	}
	return strconv.FormatInt(c.val[k], 10), true
}

// dumpLinks lists the namespace's interfaces over sock (a route socket in
// the namespace) as netlink.LinkList would (the library's own
// LinkDeserialize), without their counters; with settings, also each
// interface's IPv4 and IPv6 settings from the same messages, by ifindex
// (addProxyDelays adds the ARP table's). It may fail with
// netlink.ErrDumpInterrupted (retryDump).
func dumpLinks(sock *nl.NetlinkSocket, settings bool) ([]netlink.Link, map[int32]*linkConf, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: sock}}
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, nl.Uint32Attr(rtextFilterSkipStats)))
	var (
		links    []netlink.Link
		conf     map[int32]*linkConf
		parseErr error
	)
	if settings {
		conf = map[int32]*linkConf{}
	}
	err := req.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWLINK, func(m []byte) bool {
		l, err := netlink.LinkDeserialize(nil, m)
		if err != nil {
			parseErr = err
			return false
		}
		links = append(links, l)
		if settings {
			conf[int32(l.Attrs().Index)] = devconf(m)
		}
		return true
	})
	if parseErr != nil {
		return nil, nil, fmt.Errorf("parse link: %w", parseErr)
	}
	return links, conf, err
}

// addProxyDelays adds each interface's proxy_delay, from the ARP table's
// dump, to conf. It may fail with netlink.ErrDumpInterrupted (retryDump).
func addProxyDelays(sock *nl.NetlinkSocket, conf map[int32]*linkConf) error {
	req := nl.NewNetlinkRequest(unix.RTM_GETNEIGHTBL, unix.NLM_F_DUMP)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: sock}}
	family := nl.NewRtGenMsg() // ndtmsg's first byte, its family: the ARP table only
	family.Family = unix.AF_INET
	req.AddData(family)
	return req.ExecuteIter(unix.NETLINK_ROUTE, unix.RTM_NEWNEIGHTBL, func(m []byte) bool {
		if idx, ms, ok := proxyDelay(m); ok && conf[idx] != nil {
			// /proc shows it in USER_HZ ticks (100 a second).
			conf[idx].set(arpProxyDelay, ms/10)
		}
		return true
	})
}

// devconf reads IFLA_AF_SPEC's IPv4 and IPv6 setting arrays out of an
// RTM_NEWLINK message. Attributes are decoded by mdlayher/netlink's
// decoder, which refuses a malformed one where vishvananda's parser
// panics; what a malformed message holds stays unknown.
func devconf(m []byte) *linkConf {
	c := &linkConf{}
	if len(m) < unix.SizeofIfInfomsg {
		return c
	}
	ad, err := mnl.NewAttributeDecoder(m[unix.SizeofIfInfomsg:])
	if err != nil {
		return c
	}
	for ad.Next() {
		if ad.Type() != unix.IFLA_AF_SPEC {
			continue
		}
		ad.Nested(func(families *mnl.AttributeDecoder) error {
			for families.Next() {
				family := families.Type()
				families.Nested(func(confs *mnl.AttributeDecoder) error {
					for confs.Next() {
						switch {
						case family == unix.AF_INET && confs.Type() == unix.IFLA_INET_CONF:
							c.setAll(confs.Bytes(), v4Forwarding, v4RPFilter, v4ProxyARP)
						case family == unix.AF_INET6 && confs.Type() == unix.IFLA_INET6_CONF:
							c.setAll(confs.Bytes(), v6Forwarding, v6AcceptRA, v6ProxyNDP, v6DisableIPv6)
						}
					}
					return nil
				})
			}
			return nil
		})
	}
	return c
}

// setAll sets keys from a devconf array of 32-bit values (host order;
// IPv6's are signed).
func (c *linkConf) setAll(arr []byte, keys ...confKey) {
	for _, k := range keys {
		if i := devconfIndex[k] * 4; i+4 <= len(arr) {
			c.set(k, int64(int32(binary.NativeEndian.Uint32(arr[i:]))))
		}
	}
}

// proxyDelay reads an RTM_NEWNEIGHTBL message's per-interface parameters:
// the interface and its proxy_delay in milliseconds (ok false for the
// table's defaults, which name no interface, and for a malformed message).
func proxyDelay(m []byte) (ifindex int32, ms int64, ok bool) {
	const ndtmsgLen = 4
	if len(m) < ndtmsgLen {
		return 0, 0, false
	}
	ad, err := mnl.NewAttributeDecoder(m[ndtmsgLen:])
	if err != nil {
		return 0, 0, false
	}
	var idxOK, delayOK bool
	for ad.Next() {
		if ad.Type() != ndtaParms {
			continue
		}
		ad.Nested(func(parms *mnl.AttributeDecoder) error {
			for parms.Next() {
				switch parms.Type() {
				case ndtpaIfindex:
					ifindex, idxOK = int32(parms.Uint32()), true
				case ndtpaProxyDelay:
					ms, delayOK = int64(parms.Uint64()), true
				}
			}
			return nil
		})
	}
	return ifindex, ms, ad.Err() == nil && idxOK && delayOK && ifindex != 0
}
