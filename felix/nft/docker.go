package nft

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Tags of our accept rules in Docker's FORWARD chain.
const (
	tagAcceptIn  = "cali:nft-accept-in"
	tagAcceptOut = "cali:nft-accept-out"
)

// dockerForward is iptables-nft's filter FORWARD chain of a family.
func dockerForward(v int) (*nftables.Table, *nftables.Chain) {
	t := &nftables.Table{Family: family(v), Name: "filter"}
	return t, &nftables.Chain{Name: "FORWARD", Table: t}
}

// queueDockerAccepts keeps (want) or removes (!want) our two accepts in
// iptables-nft's FORWARD chain of IP version v, when that chain exists.
func (d *Driver) queueDockerAccepts(v int, want bool) error {
	if !d.HasDockerForward(v) {
		return nil // no iptables-nft filter FORWARD chain: nothing drops our traffic there
	}
	t, c := dockerForward(v)
	rules, err := d.conn.GetRules(t, c)
	if err != nil {
		return fmt.Errorf("read IPv%d filter FORWARD: %w", v, err)
	}
	have := map[string]bool{}
	for _, r := range rules {
		switch tag := tagOf(r.UserData); tag {
		case tagAcceptIn, tagAcceptOut:
			if have[tag] || !want {
				if err := d.tx.build.DelRule(r); err != nil {
					return err
				}
				continue
			}
			have[tag] = true
		}
	}
	if !want {
		return nil
	}
	// Inserted at the top, out first so that in ends up first.
	for _, a := range []struct {
		tag string
		key expr.MetaKey
	}{{tagAcceptOut, expr.MetaKeyOIFNAME}, {tagAcceptIn, expr.MetaKeyIIFNAME}} {
		if have[a.tag] {
			continue
		}
		d.tx.build.InsertRule(&nftables.Rule{Table: t, Chain: c, UserData: tagData(a.tag), Exprs: []expr.Any{
			&expr.Meta{Key: a.key, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("cali")},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictAccept},
		}})
	}
	return nil
}

// HasDockerForward reports whether iptables-nft's filter table has a
// FORWARD chain in IP version v (Docker's rules are in nftables).
func (d *Driver) HasDockerForward(v int) bool {
	// A listing, not a read of the chain: a failed netlink request would
	// leave its error on our lasting connection.
	chains, err := d.conn.ListChainsOfTableFamily(family(v))
	if err != nil {
		return false
	}
	for _, c := range chains {
		if c.Table.Name == "filter" && c.Name == "FORWARD" {
			return true
		}
	}
	return false
}
