package ipsets

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// cmdFlagListSetName is the kernel's IPSET_FLAG_LIST_SETNAME (enum
// ipset_cmd_flags, linux/netfilter/ipset/ip_set.h): a list request so
// flagged is answered with set names only, as for `ipset list -n`.
const cmdFlagListSetName = 1 << 1

// Names lists the IP sets of the calling thread's network namespace by
// name, over netlink (no ipset binary: the nftables dataplane uses it to
// remove what the iptables dataplane left). Only names are asked for:
// vishvananda/netlink's IpsetListAll dumps every set's header and parses
// it, printing each attribute it does not know (the hash types' initval
// and bucketsize of newer kernels) through the standard log package — the
// "unknown ipset data attribute from kernel" lines a switch to nftables
// used to leave in the daemon's output. Run it inside ns.NS.Do.
func Names() ([]string, error) {
	req := nl.NewNetlinkRequest(nl.IPSET_CMD_LIST|(unix.NFNL_SUBSYS_IPSET<<8), nl.GetIpsetFlags(nl.IPSET_CMD_LIST))
	req.AddData(&nl.Nfgenmsg{NfgenFamily: unix.AF_INET, Version: nl.NFNETLINK_V0})
	req.AddData(nl.NewRtAttr(nl.IPSET_ATTR_PROTOCOL, nl.Uint8Attr(nl.IPSET_PROTOCOL)))
	req.AddData(nl.NewRtAttr(nl.IPSET_ATTR_FLAGS|unix.NLA_F_NET_BYTEORDER,
		binary.BigEndian.AppendUint32(nil, cmdFlagListSetName)))
	msgs, err := req.Execute(unix.NETLINK_NETFILTER, 0)
	if err != nil {
		return nil, fmt.Errorf("list IP set names: %w", err)
	}
	var names []string
	for _, msg := range msgs {
		if len(msg) < 4 {
			return nil, errors.New("list IP set names: short netlink message")
		}
		attrs, err := nl.ParseRouteAttr(msg[4:]) // after the nfgenmsg header
		if err != nil {
			return nil, fmt.Errorf("list IP set names: %w", err)
		}
		for _, a := range attrs {
			if a.Attr.Type&nl.NLA_TYPE_MASK == nl.IPSET_ATTR_SETNAME {
				names = append(names, nl.BytesToString(a.Value))
			}
		}
	}
	return names, nil
}
