package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

// Egress mode's netdev tables (felix/nftrules, egress.go): each is one
// to-workload shard whose base chain hooks the egress of devices named
// by prefix ("cali5*") or in full. google/nftables v0.3.0 encodes one
// device name per chain (NFTA_HOOK_DEV), so the driver writes these base
// chains' messages itself, into the same transaction, and reads their
// devices back with a dump of its own.

// Linux 6.16's hook device attributes (not yet in x/sys/unix).
const (
	nftaHookDevs     = 4 // NFTA_HOOK_DEVS
	nftaDeviceName   = 1 // NFTA_DEVICE_NAME
	nftaDevicePrefix = 2 // NFTA_DEVICE_PREFIX
)

// isNetdev reports whether t is one of egress mode's netdev tables.
func isNetdev(t *nftables.Table) bool { return t.Family == nftables.TableFamilyNetdev }

// tableVersion is the IP version of one of our tables.
func tableVersion(t *nftables.Table) int {
	if v, ok := nftrules.IsEgressShardName(t.Name); ok && isNetdev(t) {
		return v
	}
	if t.Family == nftables.TableFamilyIPv6 {
		return 6
	}
	return 4
}

// netdevChainMsg is the message adding table's base chain h (an egress
// hook on h.Devices, policy accept).
func netdevChainMsg(table *nftables.Table, h nftrules.Hook) (netlink.Message, error) {
	ce := netlink.NewAttributeEncoder()
	ce.ByteOrder = binary.BigEndian
	ce.String(unix.NFTA_CHAIN_TABLE, table.Name)
	ce.String(unix.NFTA_CHAIN_NAME, h.Name)
	ce.Nested(unix.NFTA_CHAIN_HOOK, func(ae *netlink.AttributeEncoder) error {
		ae.ByteOrder = binary.BigEndian
		ae.Uint32(unix.NFTA_HOOK_HOOKNUM, unix.NF_NETDEV_EGRESS)
		ae.Uint32(unix.NFTA_HOOK_PRIORITY, uint32(h.Priority))
		ae.Nested(nftaHookDevs, func(de *netlink.AttributeEncoder) error {
			for _, dev := range h.Devices {
				if p, ok := strings.CutSuffix(dev, "*"); ok {
					de.String(nftaDevicePrefix, p) // with its NUL: 6.18 matches no prefix sent without
				} else {
					de.String(nftaDeviceName, dev)
				}
			}
			return nil
		})
		return nil
	})
	ce.Uint32(unix.NFTA_CHAIN_POLICY, 1) // NF_ACCEPT
	ce.String(unix.NFTA_CHAIN_TYPE, "filter")
	b, err := ce.Encode()
	if err != nil {
		return netlink.Message{}, fmt.Errorf("encode netdev chain %s %s: %w", table.Name, h.Name, err)
	}
	return netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWCHAIN),
			Flags: netlink.Request | netlink.Create},
		Data: append([]byte{unix.NFPROTO_NETDEV, unix.NFNETLINK_V0, 0, 0}, b...),
	}, nil
}

// addRaw ends the current run of build's messages and queues msgs after
// it.
func (t *txn) addRaw(msgs ...netlink.Message) error {
	if err := t.cut(); err != nil {
		return err
	}
	t.pieces = append(t.pieces, piece{msgs: msgs})
	return nil
}

// maxHookDevices is how many devices the kernel takes in one hook's list
// (NFT_NETDEVICE_MAX; more: "file too large").
const maxHookDevices = 256

// addNetdevChain queues table's base chain h.
func (d *Driver) addNetdevChain(table *nftables.Table, h nftrules.Hook) error {
	if len(h.Devices) > maxHookDevices {
		return fmt.Errorf("netdev chain %s %s: %d devices to hook, the kernel takes at most %d: too many workload "+
			"interfaces not named cali<hex digit>… on this shard (set nftables_forward_hook to police them on the forward hook)",
			table.Name, h.Name, len(h.Devices), maxHookDevices)
	}
	m, err := netdevChainMsg(table, h)
	if err != nil {
		return err
	}
	return d.tx.addRaw(m)
}

// netdevRead is our netdev tables as one read-back found them: every IP
// version's (the netdev family holds both), so that a full resync with
// IPv6 on lists them and dumps their chains once, not once per version.
type netdevRead struct {
	tables []*nftables.Table
	chains map[string]map[string][]string // netdevChains
}

// readNetdev returns this apply's read-back of our netdev tables, reading
// it the first time (tables lists them; chains are dumped only when one
// is ours).
func (d *Driver) readNetdev() (*netdevRead, error) {
	if d.netdev != nil {
		return d.netdev, nil
	}
	tables, err := d.conn.ListTablesOfFamily(nftables.TableFamilyNetdev) // egress mode's shards
	if err != nil && !errors.Is(err, os.ErrNotExist) && !isNoEnt(err) {
		return nil, fmt.Errorf("list nftables netdev tables: %w", err)
	}
	nd := &netdevRead{}
	for _, t := range tables {
		if isOurs(t) {
			nd.tables = append(nd.tables, t)
		}
	}
	if len(nd.tables) > 0 {
		if nd.chains, err = d.netdevChains(); err != nil {
			return nil, err
		}
	}
	d.netdev = nd
	return nd, nil
}

// netdevChains reads back the chains of our netdev tables (every IP
// version's): by table, each chain with its hook's devices (nil: a
// regular chain; prefixes end in "*").
func (d *Driver) netdevChains() (map[string]map[string][]string, error) {
	d.netdevDumps++
	req := netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETCHAIN),
			Flags: netlink.Request | netlink.Dump},
		Data: []byte{unix.NFPROTO_NETDEV, unix.NFNETLINK_V0, 0, 0},
	}
	msgs, err := d.tx.sock.Execute(req)
	if err != nil {
		return nil, fmt.Errorf("read back netdev chains: %w", err)
	}
	out := map[string]map[string][]string{}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		table, name, devs, err := parseChain(m.Data[4:])
		if err != nil {
			return nil, fmt.Errorf("read back netdev chains: %w", err)
		}
		if _, ok := nftrules.IsEgressShardName(table); !ok {
			continue
		}
		if out[table] == nil {
			out[table] = map[string][]string{}
		}
		out[table][name] = devs
	}
	return out, nil
}

// parseChain reads a chain message's table, name and hook devices (a
// base chain without devices reads back as an empty, non-nil list).
func parseChain(b []byte) (table, name string, devs []string, err error) {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return "", "", nil, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_CHAIN_TABLE:
			table = ad.String()
		case unix.NFTA_CHAIN_NAME:
			name = ad.String()
		case unix.NFTA_CHAIN_HOOK:
			devs = []string{}
			ad.Nested(func(hd *netlink.AttributeDecoder) error {
				for hd.Next() {
					switch hd.Type() {
					case unix.NFTA_HOOK_DEV:
						devs = append(devs, hd.String())
					case nftaHookDevs:
						hd.Nested(func(dd *netlink.AttributeDecoder) error {
							for dd.Next() {
								switch dd.Type() {
								case nftaDeviceName:
									devs = append(devs, dd.String())
								case nftaDevicePrefix:
									devs = append(devs, dd.String()+"*")
								}
							}
							return nil
						})
					}
				}
				return nil
			})
		}
	}
	return table, name, devs, ad.Err()
}

// sameDevices reports whether a base chain read back or programmed with
// devices got hooks on want (in any order).
func sameDevices(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

// EgressHooks reports whether the kernel hooks a netdev chain's egress
// by device name prefix (Linux 6.16): egress mode's requirement. It
// commits a table with such a chain and its deletion in one transaction,
// so nothing is left either way.
func (d *Driver) EgressHooks() (bool, error) {
	err := d.commitEgressChain(nftrules.TableName+"-probe", "probe", []string{"cali-probe*"}, false)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOENT), errors.Is(err, unix.EAFNOSUPPORT):
		return false, nil
	}
	return false, err
}

// AddEgressChain commits, in one transaction, netdev table (added unless
// there) with an egress base chain hooked on devices (names, or prefixes
// ending in "*"), policy accept and no rules. For benchmarks of egress
// hooks; the daemon's own tables go through Apply. What the driver knows
// of its own tables is left alone.
func (d *Driver) AddEgressChain(table, chain string, devices []string) error {
	return d.commitEgressChain(table, chain, devices, true)
}

// commitEgressChain adds netdev table with egress chain on devices, and
// deletes the table again in the same transaction unless keep.
func (d *Driver) commitEgressChain(table, chain string, devices []string, keep bool) error {
	t := &nftables.Table{Family: nftables.TableFamilyNetdev, Name: table}
	d.tx.build.AddTable(t)
	err := d.addNetdevChain(t, nftrules.Hook{Name: chain, Devices: devices})
	if err == nil {
		if !keep {
			d.tx.build.DelTable(t)
		}
		err = d.tx.commit(nil)
	}
	if err != nil {
		d.abort()
	}
	return err
}
