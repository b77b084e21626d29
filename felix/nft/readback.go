package nft

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

// readBack reads our table of IP version v: its chains with their rules'
// tags, its sets with their elements (verdict maps: keys only).
func (d *Driver) readBack(v int) (*state, error) {
	st := &state{chains: map[string]*chainState{}, sets: map[string]*setState{}}
	table, err := d.conn.ListTableOfFamily(nftrules.TableName, family(v))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || isNoEnt(err) {
			return st, nil
		}
		return nil, fmt.Errorf("read nftables table %s: %w", nftrules.TableName, err)
	}
	st.exists = true
	chains, err := d.conn.ListChainsOfTableFamily(family(v))
	if err != nil {
		return nil, fmt.Errorf("read back chains: %w", err)
	}
	for _, c := range chains {
		if c.Table.Name != table.Name {
			continue
		}
		rules, err := d.conn.GetRules(table, c)
		if err != nil {
			return nil, fmt.Errorf("read back chain %s: %w", c.Name, err)
		}
		cs := &chainState{base: c.Hooknum != nil, hashes: make([]string, len(rules))}
		for i, r := range rules {
			cs.hashes[i] = tagOf(r.UserData) + "/" + fingerprint(r.Exprs)
		}
		st.chains[c.Name] = cs
	}
	sets, err := d.conn.GetSets(table)
	if err != nil {
		return nil, fmt.Errorf("read back sets: %w", err)
	}
	for _, s := range sets {
		if s.IsMap {
			st.sets[s.Name] = &setState{vmap: true}
			continue
		}
		elems, err := d.conn.GetSetElements(s)
		if err != nil {
			return nil, fmt.Errorf("read back set %s: %w", s.Name, err)
		}
		st.sets[s.Name] = &setState{ivs: intervalsOf(elems)}
	}
	return st, nil
}

func intervalsOf(elems []nftables.SetElement) map[string]nftrules.Interval {
	var starts, ends []netip.Addr
	for _, e := range elems {
		a, ok := netip.AddrFromSlice(e.Key)
		if !ok {
			continue
		}
		if e.IntervalEnd {
			ends = append(ends, a)
		} else {
			starts = append(starts, a)
		}
	}
	out := map[string]nftrules.Interval{}
	for _, iv := range nftrules.FromBounds(starts, ends) {
		out[iv.Key()] = iv
	}
	return out
}

// isNoEnt reports a netlink "no such file or directory" answer.
func isNoEnt(err error) bool { return errors.Is(err, unix.ENOENT) }
