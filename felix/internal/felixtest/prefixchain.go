package felixtest

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Attribute types of Linux 6.16's device lists (uapi nf_tables.h), which
// golang.org/x/sys does not name yet.
const (
	nftaHookDevs     = 4 // NFTA_HOOK_DEVS: a nest of devices
	nftaDevicePrefix = 2 // NFTA_DEVICE_PREFIX: every device whose name starts so
)

// AddPrefixEgressChain adds, in the namespace nsFD and in one batch, a
// netdev table and an egress base chain (policy accept) hooked on every
// interface whose name starts with prefix, now or later (Linux 6.16 and
// later). Benchmarks of the netdev-egress design use it. google/nftables
// v0.3.0 can hook a chain on one named device only, so the two messages
// are written here. (The first form of 6.16's wildcards, a device name
// sent without its NUL, no longer matches prefixes on this 6.18 kernel.)
func AddPrefixEgressChain(nsFD int, table, chain, prefix string) error {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: nsFD})
	if err != nil {
		return err
	}
	defer c.Close()
	te := netlink.NewAttributeEncoder()
	te.String(unix.NFTA_TABLE_NAME, table)
	tb, err := te.Encode()
	if err != nil {
		return err
	}
	ce := netlink.NewAttributeEncoder()
	ce.ByteOrder = binary.BigEndian
	ce.String(unix.NFTA_CHAIN_TABLE, table)
	ce.String(unix.NFTA_CHAIN_NAME, chain)
	ce.Nested(unix.NFTA_CHAIN_HOOK, func(ae *netlink.AttributeEncoder) error {
		ae.ByteOrder = binary.BigEndian
		ae.Uint32(unix.NFTA_HOOK_HOOKNUM, unix.NF_NETDEV_EGRESS)
		ae.Uint32(unix.NFTA_HOOK_PRIORITY, 0)
		ae.Nested(nftaHookDevs, func(de *netlink.AttributeEncoder) error {
			de.String(nftaDevicePrefix, prefix)
			return nil
		})
		return nil
	})
	ce.Uint32(unix.NFTA_CHAIN_POLICY, 1) // NF_ACCEPT
	ce.String(unix.NFTA_CHAIN_TYPE, "filter")
	cb, err := ce.Encode()
	if err != nil {
		return err
	}
	nfgen := func(family uint8, resID uint16) []byte {
		return binary.BigEndian.AppendUint16([]byte{family, unix.NFNETLINK_V0}, resID)
	}
	msg := func(typ int, flags netlink.HeaderFlags, data []byte) netlink.Message {
		return netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | flags}, Data: data}
	}
	nft := func(m int) int { return unix.NFNL_SUBSYS_NFTABLES<<8 | m }
	create := netlink.Create | netlink.Acknowledge
	_, err = c.SendMessages([]netlink.Message{
		msg(unix.NFNL_MSG_BATCH_BEGIN, 0, nfgen(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)),
		msg(nft(unix.NFT_MSG_NEWTABLE), create, append(nfgen(unix.NFPROTO_NETDEV, 0), tb...)),
		msg(nft(unix.NFT_MSG_NEWCHAIN), create, append(nfgen(unix.NFPROTO_NETDEV, 0), cb...)),
		msg(unix.NFNL_MSG_BATCH_END, 0, nfgen(unix.AF_UNSPEC, unix.NFNL_SUBSYS_NFTABLES)),
	})
	if err != nil {
		return err
	}
	for range 2 { // the two acknowledgements (an error comes as one)
		if _, err := c.Receive(); err != nil {
			return fmt.Errorf("netdev chain %s on %s*: %w", chain, prefix, err)
		}
	}
	return nil
}
