package nft

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// List writes a readable summary of our nftables tables (every IP
// version's, the netdev shards' too) to w, for an operator or a
// diagnostics archive: each table's chains with their hook, rule count
// and what their counters counted; each verdict map's elements; the
// selector set's members grouped by set, each set named by names (a set's
// number, nftrules.SetID, to its name; a number names does not know is
// shown as "#<hex>"). It needs no nft binary (Debian's nft 1.0.6 does
// not list our tables) and changes nothing.
func (d *Driver) List(w io.Writer, names map[[8]byte]string) error {
	d.netdev = nil // read afresh
	nd, err := d.readNetdev()
	if err != nil {
		return err
	}
	found := false
	for _, v := range []int{4, 6} {
		tables, err := d.conn.ListTablesOfFamily(family(v))
		if err != nil && !isNoEnt(err) {
			return fmt.Errorf("list nftables tables: %w", err)
		}
		chains, err := d.conn.ListChainsOfTableFamily(family(v))
		if err != nil && !isNoEnt(err) {
			return fmt.Errorf("list nftables chains: %w", err)
		}
		for _, t := range nd.tables {
			if tableVersion(t) == v {
				tables = append(tables, t)
			}
		}
		slices.SortFunc(tables, func(a, b *nftables.Table) int {
			return cmp.Or(cmp.Compare(a.Family, b.Family), strings.Compare(a.Name, b.Name))
		})
		for _, t := range tables {
			if !isOurs(t) {
				continue
			}
			found = true
			if err := d.listTable(w, v, t, chains, nd, names); err != nil {
				return err
			}
		}
	}
	if !found {
		_, err := fmt.Fprintln(w, "no Calico nftables tables (the daemon's dataplane is iptables, or it is not running)")
		return err
	}
	return nil
}

// familyName is nft's name of a table's family.
func familyName(t *nftables.Table) string {
	switch t.Family {
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyNetdev:
		return "netdev"
	}
	return "ip"
}

func (d *Driver) listTable(w io.Writer, v int, t *nftables.Table, chains []*nftables.Chain, nd *netdevRead, names map[[8]byte]string) error {
	fmt.Fprintf(w, "table %s %s\n", familyName(t), t.Name)
	msgs, err := d.dumpRules(t)
	if err != nil {
		return err
	}
	type count struct{ rules, packets, bytes uint64 }
	counts := map[string]*count{}
	if len(msgs) > 0 {
		rules, err := parseRules(t, msgs)
		if err != nil {
			return err
		}
		for _, r := range rules {
			c := counts[r.Chain.Name]
			if c == nil {
				c = &count{}
				counts[r.Chain.Name] = c
			}
			c.rules++
			for _, e := range r.Exprs {
				if ctr, ok := e.(*expr.Counter); ok {
					c.packets += ctr.Packets
					c.bytes += ctr.Bytes
				}
			}
		}
	}
	type chainLine struct{ name, hook string }
	var lines []chainLine
	if isNetdev(t) {
		for name, devs := range nd.chains[t.Name] {
			hook := ""
			if devs != nil {
				hook = "hook egress devices " + strings.Join(devs, ",")
			}
			lines = append(lines, chainLine{name, hook})
		}
	} else {
		for _, c := range chains {
			if c.Table.Name != t.Name {
				continue
			}
			hook := ""
			if c.Hooknum != nil && c.Priority != nil {
				hook = fmt.Sprintf("hook %s priority %d", hookName(*c.Hooknum), *c.Priority)
			}
			lines = append(lines, chainLine{c.Name, hook})
		}
	}
	// Base chains first, then by name.
	slices.SortFunc(lines, func(a, b chainLine) int {
		return cmp.Or(cmp.Compare(boolInt(a.hook == ""), boolInt(b.hook == "")), strings.Compare(a.name, b.name))
	})
	for _, l := range lines {
		c := counts[l.name]
		if c == nil {
			c = &count{}
		}
		hook := ""
		if l.hook != "" {
			hook = "  " + l.hook
		}
		fmt.Fprintf(w, "  chain %s%s  %d rule(s)  counted %d packet(s), %d byte(s)\n", l.name, hook, c.rules, c.packets, c.bytes)
	}
	sets, err := d.conn.GetSets(t)
	if err != nil {
		return fmt.Errorf("list the sets of table %s: %w", t.Name, err)
	}
	slices.SortFunc(sets, func(a, b *nftables.Set) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range sets {
		elems, err := d.conn.GetSetElements(s)
		if err != nil {
			return fmt.Errorf("list set %s of table %s: %w", s.Name, t.Name, err)
		}
		switch {
		case s.IsMap:
			m := verdictsOf(s.Name, elems)
			fmt.Fprintf(w, "  map %s  %d element(s)\n", s.Name, len(m))
			for _, k := range slices.Sorted(maps.Keys(m)) {
				verdict := "goto " + m[k]
				if m[k] == nftrules.ReturnTarget {
					verdict = "return"
				}
				fmt.Fprintf(w, "    %s : %s\n", k, verdict)
			}
		case s.Name == nftrules.SelectorSet:
			members := membersOf(v, elems)
			fmt.Fprintf(w, "  set %s  %d element(s) of %d address set(s)\n", s.Name, len(elems), len(members))
			label := func(id [8]byte) string {
				if n, ok := names[id]; ok {
					return n
				}
				return "#" + hex.EncodeToString(id[:])
			}
			ids := slices.SortedFunc(maps.Keys(members), func(a, b [8]byte) int { return strings.Compare(label(a), label(b)) })
			for _, id := range ids {
				ivs := slices.SortedFunc(maps.Values(members[id]), func(a, b nftrules.Interval) int { return a.Start.Compare(b.Start) })
				var out []string
				for _, iv := range ivs {
					out = append(out, rangeText(iv))
				}
				fmt.Fprintf(w, "    %s (number %x): %s\n", label(id), id, strings.Join(out, ", "))
			}
		default:
			fmt.Fprintf(w, "  set %s  %d element(s) (not of this build: the next apply deletes it)\n", s.Name, len(elems))
		}
	}
	return nil
}

// hookName is nft's name of a netfilter hook of an IP family (hookNums').
func hookName(h nftables.ChainHook) string {
	for name, n := range hookNums {
		if *n == h {
			return name
		}
	}
	return fmt.Sprintf("%d", h)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rangeText is an element's address range: "first-last", or one address.
func rangeText(iv nftrules.Interval) string {
	last := rules.LastAddr(netip.PrefixFrom(iv.Start, 0))
	if iv.End.IsValid() {
		last = iv.End.Prev()
	}
	if last == iv.Start {
		return iv.Start.String()
	}
	return iv.Start.String() + "-" + last.String()
}
