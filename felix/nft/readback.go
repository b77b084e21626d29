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

// readFamily reads our tables of IP version v (the main table and the
// shards), by name: their chains with their rules' tags, their sets with
// their elements (verdict maps: keys only).
func (d *Driver) readFamily(v int) (map[string]*state, error) {
	out := map[string]*state{}
	tables, err := d.conn.ListTablesOfFamily(family(v))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || isNoEnt(err) {
			return out, nil
		}
		return nil, fmt.Errorf("list nftables tables: %w", err)
	}
	for _, t := range tables {
		if isOurs(t) {
			out[t.Name] = &state{exists: true, chains: map[string]*chainState{}, sets: map[string]*setState{}}
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	chains, err := d.conn.ListChainsOfTableFamily(family(v))
	if err != nil {
		return nil, fmt.Errorf("read back chains: %w", err)
	}
	for _, c := range chains {
		st := out[c.Table.Name]
		if st == nil {
			continue
		}
		rules, err := d.conn.GetRules(c.Table, c)
		if err != nil {
			return nil, fmt.Errorf("read back chain %s of table %s: %w", c.Name, c.Table.Name, err)
		}
		cs := &chainState{base: c.Hooknum != nil, hashes: make([]string, len(rules))}
		for i, r := range rules {
			cs.hashes[i] = tagOf(r.UserData) + "/" + fingerprint(r.Exprs)
		}
		st.chains[c.Name] = cs
	}
	for name, st := range out {
		if err := d.readSets(ourTable(v, name), st); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *Driver) readSets(table *nftables.Table, st *state) error {
	sets, err := d.conn.GetSets(table)
	if err != nil {
		return fmt.Errorf("read back sets of table %s: %w", table.Name, err)
	}
	for _, s := range sets {
		if s.IsMap {
			st.sets[s.Name] = &setState{vmap: true}
			continue
		}
		elems, err := d.conn.GetSetElements(s)
		if err != nil {
			return fmt.Errorf("read back set %s of table %s: %w", s.Name, table.Name, err)
		}
		st.sets[s.Name] = &setState{ivs: intervalsOf(elems)}
	}
	return nil
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
