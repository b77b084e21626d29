package nft

import (
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// iptablesTables are the iptables-nft tables the iptables dataplane writes.
var iptablesTables = []string{"filter", "nat", "mangle", "raw"}

// RemoveIptablesLeftovers deletes, in one transaction, what the iptables
// dataplane left in iptables-nft's tables (a switch to nftables): every
// chain named cali-*, and every rule of another chain that jumps to one or
// carries a "cali:" comment, except our own Docker accepts. It returns how
// many chains and rules it removed.
func (d *Driver) RemoveIptablesLeftovers() (int, error) {
	n := 0
	for _, v := range []int{4, 6} {
		chains, err := d.conn.ListChainsOfTableFamily(family(v))
		if err != nil {
			return 0, fmt.Errorf("list iptables-nft chains: %w", err)
		}
		var stale []*nftables.Chain
		for _, c := range chains {
			if !isIptablesTable(c.Table.Name) {
				continue
			}
			if strings.HasPrefix(c.Name, iptables.DefaultChainPrefix) {
				stale = append(stale, c)
				continue
			}
			k, err := d.queueForeignRuleRemoval(c)
			if err != nil {
				d.abort()
				return 0, err
			}
			n += k
		}
		for _, c := range stale {
			d.tx.build.FlushChain(c)
		}
		for _, c := range stale {
			d.tx.build.DelChain(c)
		}
		n += len(stale)
	}
	if n == 0 {
		return 0, nil
	}
	if err := d.tx.commit(nil); err != nil {
		d.abort()
		return 0, fmt.Errorf("remove the iptables dataplane's chains: %w", err)
	}
	return n, nil
}

func isIptablesTable(name string) bool {
	for _, t := range iptablesTables {
		if t == name {
			return true
		}
	}
	return false
}

// queueForeignRuleRemoval queues deleting the iptables dataplane's rules in
// a chain it does not own.
func (d *Driver) queueForeignRuleRemoval(c *nftables.Chain) (int, error) {
	rules, err := d.conn.GetRules(c.Table, c)
	if err != nil {
		return 0, fmt.Errorf("read %s %s: %w", c.Table.Name, c.Name, err)
	}
	n := 0
	for _, r := range rules {
		tag := tagOf(r.UserData)
		if tag == tagAcceptIn || tag == tagAcceptOut {
			continue
		}
		if strings.HasPrefix(tag, "cali:") || jumpsToOurs(r) {
			if err := d.tx.build.DelRule(r); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, nil
}

func jumpsToOurs(r *nftables.Rule) bool {
	for _, e := range r.Exprs {
		if v, ok := e.(*expr.Verdict); ok && strings.HasPrefix(v.Chain, iptables.DefaultChainPrefix) {
			return true
		}
	}
	return false
}

// RemoveAll deletes our tables and our Docker accepts (a switch back to
// the iptables dataplane), in one transaction.
func (d *Driver) RemoveAll() error {
	tables, err := d.conn.ListTables()
	if err != nil {
		return fmt.Errorf("list nftables tables: %w", err)
	}
	for _, t := range tables {
		if isOurs(t) {
			d.tx.build.DelTable(t)
		}
	}
	for _, v := range []int{4, 6} {
		if err := d.queueDockerAccepts(v, false); err != nil {
			d.abort()
			return err
		}
	}
	if err := d.tx.commit(nil); err != nil {
		d.abort()
		return fmt.Errorf("remove the nftables dataplane: %w", err)
	}
	d.Forget()
	return nil
}
