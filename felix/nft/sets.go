package nft

import (
	"bytes"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// planSet queues the changes of a set (keys, for a verdict map: the only
// keys whose element may have changed; nil: any): a verdict map's
// elements, or an address set's members in the table's SelectorSet.
func (d *Driver) planSet(table *nftables.Table, name string, want nftrules.Set, known *setState, keys map[string]bool) (*setState, error) {
	if want.IsVMap() {
		return d.planVMap(table, name, want.VMap, known, keys)
	}
	v := tableVersion(table)
	st := &setState{shared: true, id: nftrules.SetID(name), src: want.Prefixes}
	if known != nil && known.shared && known.src != nil && slices.Equal(known.src, want.Prefixes) {
		return known, nil
	}
	st.ivs = map[string]nftrules.Interval{}
	for _, iv := range nftrules.Intervals(v, want.Prefixes) {
		st.ivs[iv.Key()] = iv
	}
	sel, id := selectorSet(table), st.id
	if known == nil || !known.shared {
		return st, d.addElements(sel, members(id, slices.Collect(maps.Values(st.ivs))))
	}
	old := intervalsIn(v, known)
	var gone, added []nftrules.Interval
	for k, iv := range old {
		if _, ok := st.ivs[k]; !ok {
			gone = append(gone, iv)
		}
	}
	for k, iv := range st.ivs {
		if _, ok := old[k]; !ok {
			added = append(added, iv)
		}
	}
	// Deletions first: an added interval may overlap a deleted one.
	if len(gone) > 0 {
		if err := d.delElements(sel, members(id, gone)); err != nil {
			return nil, err
		}
	}
	if len(added) > 0 {
		if err := d.addElements(sel, members(id, added)); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// intervalsIn are the intervals of a known address set.
func intervalsIn(v int, known *setState) map[string]nftrules.Interval {
	if known.ivs != nil {
		return known.ivs
	}
	out := map[string]nftrules.Interval{}
	for _, iv := range nftrules.Intervals(v, known.src) {
		out[iv.Key()] = iv
	}
	return out
}

// dropMembers queues the deletion of a known address set's members.
func (d *Driver) dropMembers(table *nftables.Table, known *setState) {
	v := tableVersion(table)
	ivs := slices.Collect(maps.Values(intervalsIn(v, known)))
	// Members are of the table's family: encoding them cannot fail.
	_ = d.delElements(selectorSet(table), members(known.id, ivs))
}

// selectorSet is table's nftrules.SelectorSet: address . set number, an
// interval set (each element a range of addresses of one set).
func selectorSet(table *nftables.Table) *nftables.Set {
	addr := nftables.TypeIPAddr
	if tableVersion(table) == 6 {
		addr = nftables.TypeIP6Addr
	}
	return &nftables.Set{Table: table, Name: nftrules.SelectorSet, Interval: true, Concatenation: true,
		KeyType: nftables.MustConcatSetType(addr, nftables.TypeInteger, nftables.TypeInteger)}
}

// members are the SelectorSet elements of intervals of the set numbered
// id: each the range from its first to its last address, the number
// beside both.
func members(id [8]byte, ivs []nftrules.Interval) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, len(ivs))
	for _, iv := range ivs {
		last := iv.End.Prev()
		if !iv.End.IsValid() { // to the family's last address
			last = rules.LastAddr(netip.PrefixFrom(iv.Start, 0))
		}
		out = append(out, nftables.SetElement{Key: append(iv.Start.AsSlice(), id[:]...), KeyEnd: append(last.AsSlice(), id[:]...)})
	}
	return out
}

// planVMap creates an interface verdict map or queues its changed entries
// (a read-back one too: its verdicts are read back, readback.go), comparing
// only keys when given.
func (d *Driver) planVMap(table *nftables.Table, name string, want map[string]string, known *setState, keys map[string]bool) (*setState, error) {
	set := vmapSet(table, name)
	st := &setState{vmap: true, dst: want}
	// write queues m's elements at keys: added to the set (or with it), or
	// deleted from it.
	write := func(op func(*nftables.Set, []nftables.SetElement) error, m map[string]string, keys []string) error {
		elems, err := vmapElements(name, m, keys)
		if err != nil {
			return err
		}
		return op(set, elems)
	}
	if known == nil {
		return st, write(d.addSet, want, slices.Collect(maps.Keys(want)))
	}
	old := known.dst
	if old == nil || !known.vmap {
		d.tx.build.FlushSet(set)
		return st, write(d.addElements, want, slices.Collect(maps.Keys(want)))
	}
	var gone, changed []string
	compare := func(iface string) {
		was, had := old[iface]
		now, has := want[iface]
		if had && (!has || was != now) {
			gone = append(gone, iface)
		}
		if has && (!had || was != now) {
			changed = append(changed, iface)
		}
	}
	if keys != nil {
		for iface := range keys {
			compare(iface)
		}
	} else {
		for iface := range old {
			compare(iface)
		}
		for iface := range want {
			if _, had := old[iface]; !had {
				compare(iface)
			}
		}
	}
	if len(gone) > 0 {
		if err := write(d.delElements, old, gone); err != nil {
			return nil, err
		}
	}
	if len(changed) > 0 {
		return st, write(d.addElements, want, changed)
	}
	return st, nil
}

// vmapSet is verdict map name of table: a dispatch map keyed by
// interface name, or the source map keyed by interface, MAC and address
// (nftrules.SourceMap).
func vmapSet(table *nftables.Table, name string) *nftables.Set {
	set := &nftables.Set{Table: table, Name: name, KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict, IsMap: true}
	if name == nftrules.SourceMap {
		addr := nftables.TypeIPAddr
		if tableVersion(table) == 6 {
			addr = nftables.TypeIP6Addr
		}
		set.KeyType, set.Concatenation = nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeEtherAddr, addr), true
	}
	return set
}

func vmapElements(name string, m map[string]string, keys []string) ([]nftables.SetElement, error) {
	slices.Sort(keys)
	out := make([]nftables.SetElement, len(keys))
	for i, k := range keys {
		v := &expr.Verdict{Kind: expr.VerdictGoto, Chain: m[k]}
		if m[k] == nftrules.ReturnTarget {
			v = &expr.Verdict{Kind: expr.VerdictReturn}
		}
		key := ifnameKey(k)
		if name == nftrules.SourceMap {
			iface, mac, addr, err := nftrules.ParseSourceKey(k)
			if err != nil {
				return nil, err
			}
			// Each field padded to 32 bits: the MAC's 6 bytes take 8.
			key = append(append(append(ifnameKey(iface), mac...), 0, 0), addr.AsSlice()...)
		}
		out[i] = nftables.SetElement{Key: key, VerdictData: v}
	}
	return out, nil
}

// mapKey reads an element key of verdict map name back as vmapElements
// wrote it (false: not of that shape).
func mapKey(name string, key []byte) (string, bool) {
	if name != nftrules.SourceMap {
		return string(bytes.TrimRight(key, "\x00")), true
	}
	if len(key) != 16+8+4 && len(key) != 16+8+16 {
		return "", false
	}
	addr, _ := netip.AddrFromSlice(key[24:])
	return nftrules.SourceKey(string(bytes.TrimRight(key[:16], "\x00")), net.HardwareAddr(key[16:22]), addr), true
}

// ifnameKey is an interface name as an ifname set key (16 bytes, NUL padded).
func ifnameKey(name string) []byte {
	b := make([]byte, 16)
	copy(b, name)
	return b
}

// maxElems bounds the elements of one netlink message: an element list is
// one attribute, whose length field has 16 bits (64 KiB), and an element
// of a verdict map takes ~80 bytes.
const maxElems = 256

// addSet creates a set with its elements, in messages of maxElems.
func (d *Driver) addSet(s *nftables.Set, elems []nftables.SetElement) error {
	n := min(len(elems), maxElems)
	if err := d.tx.build.AddSet(s, elems[:n]); err != nil {
		return err
	}
	return d.addElements(s, elems[n:])
}

func (d *Driver) addElements(s *nftables.Set, elems []nftables.SetElement) error {
	for c := range slices.Chunk(elems, maxElems) {
		if err := d.tx.build.SetAddElements(s, c); err != nil {
			return err
		}
	}
	return nil
}

func (d *Driver) delElements(s *nftables.Set, elems []nftables.SetElement) error {
	for c := range slices.Chunk(elems, maxElems) {
		if err := d.tx.build.SetDeleteElements(s, c); err != nil {
			return err
		}
	}
	return nil
}

// SelectorSets checks that the kernel takes our tables' selector set (an
// interval set keyed by several fields: Linux 5.6 or later), so that an
// older kernel stops the daemon at its start with an error that says so
// rather than failing every apply. It commits a table holding one, with a
// member, and the table's deletion in one transaction: nothing is left
// either way.
func (d *Driver) SelectorSets() error {
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: nftrules.TableName + "-probe"}
	d.tx.build.AddTable(t)
	probe := nftrules.Interval{Start: netip.AddrFrom4([4]byte{192, 0, 2, 0}), End: netip.AddrFrom4([4]byte{192, 0, 2, 1})}
	err := d.tx.build.AddSet(selectorSet(t), members(nftrules.SetID("probe"), []nftrules.Interval{probe}))
	if err == nil {
		d.tx.build.DelTable(t)
		err = d.tx.commit(nil)
	}
	if err != nil {
		d.abort()
		return fmt.Errorf("this kernel refuses an nftables interval set keyed by several fields (%s, Linux 5.6 or later): %w",
			nftrules.SelectorSet, err)
	}
	return nil
}
