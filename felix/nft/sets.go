package nft

import (
	"maps"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

// planSet creates a set or queues its element changes (keys, for a
// verdict map: the only keys whose element may have changed; nil: any).
func (d *Driver) planSet(table *nftables.Table, name string, want nftrules.Set, known *setState, keys map[string]bool) (*setState, error) {
	if want.IsVMap() {
		return d.planVMap(table, name, want.VMap, known, keys)
	}
	v, keyType := tableVersion(table), nftables.TypeIPAddr
	if v == 6 {
		keyType = nftables.TypeIP6Addr
	}
	st := &setState{src: want.Prefixes}
	if known != nil && !known.vmap && known.src != nil && slices.Equal(known.src, want.Prefixes) {
		return known, nil
	}
	st.ivs = map[string]nftrules.Interval{}
	for _, iv := range nftrules.Intervals(v, want.Prefixes) {
		st.ivs[iv.Key()] = iv
	}
	set := &nftables.Set{Table: table, Name: name, KeyType: keyType, Interval: true}
	if known == nil {
		return st, d.addSet(set, elements(slices.Collect(maps.Values(st.ivs))))
	}
	old := known.ivs
	if old == nil {
		old = map[string]nftrules.Interval{}
		for _, iv := range nftrules.Intervals(v, known.src) {
			old[iv.Key()] = iv
		}
	}
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
		if err := d.delElements(set, elements(gone)); err != nil {
			return nil, err
		}
	}
	if len(added) > 0 {
		if err := d.addElements(set, elements(added)); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// elements are the kernel elements of intervals: a start, and an end
// flagged as such unless the interval runs to the last address.
func elements(ivs []nftrules.Interval) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, 2*len(ivs))
	for _, iv := range ivs {
		out = append(out, nftables.SetElement{Key: iv.Start.AsSlice()})
		if iv.End.IsValid() {
			out = append(out, nftables.SetElement{Key: iv.End.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}

// planVMap creates an interface verdict map or queues its changed entries
// (a read-back one too: its verdicts are read back, readback.go), comparing
// only keys when given.
func (d *Driver) planVMap(table *nftables.Table, name string, want map[string]string, known *setState, keys map[string]bool) (*setState, error) {
	set := &nftables.Set{Table: table, Name: name, KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict, IsMap: true}
	st := &setState{vmap: true, dst: want}
	if known == nil {
		return st, d.addSet(set, vmapElements(want, slices.Collect(maps.Keys(want))))
	}
	old := known.dst
	if old == nil || !known.vmap {
		d.tx.build.FlushSet(set)
		return st, d.addElements(set, vmapElements(want, slices.Collect(maps.Keys(want))))
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
		if err := d.delElements(set, vmapElements(old, gone)); err != nil {
			return nil, err
		}
	}
	if len(changed) > 0 {
		return st, d.addElements(set, vmapElements(want, changed))
	}
	return st, nil
}

func vmapElements(m map[string]string, ifaces []string) []nftables.SetElement {
	slices.Sort(ifaces)
	out := make([]nftables.SetElement, len(ifaces))
	for i, iface := range ifaces {
		v := &expr.Verdict{Kind: expr.VerdictGoto, Chain: m[iface]}
		if m[iface] == nftrules.ReturnTarget {
			v = &expr.Verdict{Kind: expr.VerdictReturn}
		}
		out[i] = nftables.SetElement{Key: ifnameKey(iface), VerdictData: v}
	}
	return out
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
