package policy_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// nftDisruptions are testDisruption's breaks for the nftables dataplane:
// each is done over netlink, as `nft` would do it.
func nftDisruptions(b *bed, server, clients string) []disruption {
	c := nftConn(b.t, b.host)
	table := &nftables.Table{Name: nftrules.TableName, Family: nftables.TableFamilyIPv4}
	chain := func(name string) *nftables.Chain { return &nftables.Chain{Name: name, Table: table} }
	must := func(err error) {
		if err == nil {
			err = c.Flush()
		}
		if err != nil {
			b.t.Fatal(err)
		}
	}
	// The server's dispatch entry, the chain it leads to (its group's:
	// an endpoint chain that is only a goto is folded into its entry) and
	// the set its policy matches on are in the server's to-workload shard.
	key := make([]byte, 16)
	copy(key, server)
	vmapOf := func(t *nftables.Table) *nftables.Set {
		return &nftables.Set{Table: t, Name: rules.ChainToDispatch, KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict, IsMap: true}
	}
	// entry returns the server's shard and where its entry leads ("": no entry).
	entry := func() (*nftables.Table, string) {
		tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
		if err != nil {
			b.t.Fatal(err)
		}
		netdev, err := c.ListTablesOfFamily(nftables.TableFamilyNetdev)
		if err != nil {
			b.t.Fatal(err)
		}
		for _, t := range append(tables, netdev...) {
			if v, egress := nftrules.IsEgressShardName(t.Name); !nftrules.IsShardName(t.Name) && (!egress || v != 4) {
				continue
			}
			sets, err := c.GetSets(t)
			if err != nil {
				b.t.Fatal(err)
			}
			if !slices.ContainsFunc(sets, func(s *nftables.Set) bool { return s.Name == rules.ChainToDispatch }) {
				continue // a from-workload shard
			}
			elems, err := c.GetSetElements(vmapOf(t))
			if err != nil {
				b.t.Fatal(err)
			}
			for _, e := range elems {
				if bytes.Equal(e.Key, key) {
					return t, verdictChain(e.Val)
				}
			}
		}
		return nil, ""
	}
	shard := func() *nftables.Table {
		st, _ := entry()
		if st == nil {
			b.t.Fatalf("no shard dispatches to %s", server)
		}
		return st
	}
	// clientMembers returns the server's shard's selector set and, in it,
	// the members of the set its policy matches on.
	clientMembers := func() (*nftables.Set, []nftables.SetElement) {
		sel := &nftables.Set{Table: shard(), Name: nftrules.SelectorSet, Interval: true, Concatenation: true,
			KeyType: nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInteger, nftables.TypeInteger)}
		elems, err := c.GetSetElements(sel)
		if err != nil {
			b.t.Fatal(err)
		}
		id := nftrules.SetID(nftrules.SetName(clients))
		var out []nftables.SetElement
		for _, e := range elems {
			if bytes.HasSuffix(e.Key, id[:]) {
				out = append(out, nftables.SetElement{Key: e.Key, KeyEnd: e.KeyEnd})
			}
		}
		return sel, out
	}
	dockerFwd := &nftables.Chain{Name: "FORWARD", Table: &nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4}}
	return []disruption{
		{"delete an endpoint's dispatch entry and flush the chain it leads to", func() {
			st, to := entry()
			if st == nil || !strings.HasPrefix(to, "cali-") {
				b.t.Fatalf("the server's dispatch entry: shard %v, chain %q", st, to)
			}
			must(c.SetDeleteElements(vmapOf(st), []nftables.SetElement{{Key: key}}))
			c.FlushChain(&nftables.Chain{Name: to, Table: st})
			must(nil)
		}, func() error {
			st, to := entry()
			if st == nil {
				return fmt.Errorf("no dispatch entry for %s", server)
			}
			if rs, err := c.GetRules(st, &nftables.Chain{Name: to, Table: st}); err != nil || len(rs) == 0 {
				return fmt.Errorf("chain %s is empty (%v)", to, err)
			}
			return nil
		}},
		{"delete an IP set's members", func() {
			sel, members := clientMembers()
			if len(members) == 0 {
				b.t.Fatalf("set %s has no members in %s", clients, nftrules.SelectorSet)
			}
			must(c.SetDeleteElements(sel, members))
		}, func() error {
			if _, members := clientMembers(); len(members) == 0 {
				return fmt.Errorf("set %s is empty", clients)
			}
			return nil
		}},
		{"delete our accept in Docker's FORWARD", func() {
			rs, err := c.GetRules(dockerFwd.Table, dockerFwd)
			if err != nil {
				b.t.Fatal(err)
			}
			for _, r := range rs {
				if tag, _ := userdata.GetString(r.UserData, userdata.TypeComment); strings.HasPrefix(tag, "cali:nft-accept") {
					must(c.DelRule(r))
				}
			}
		}, func() error {
			if fwd := b.iptables(4, "", "-S", "FORWARD"); !strings.Contains(fwd, "cali:nft-accept-in") {
				return errors.New("no accept of ours in FORWARD:\n" + fwd)
			}
			return nil
		}},
		{"edit one of our rules", func() {
			rs, err := c.GetRules(table, chain(rules.ChainForward))
			if err != nil {
				b.t.Fatal(err)
			}
			for _, r := range rs {
				if jumpsTo(r, rules.ChainToDispatch) {
					r.Exprs = []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}} // fail open
					c.ReplaceRule(r)
					must(nil)
					return
				}
			}
			b.t.Fatal("no jump to the to-workload dispatch")
		}, func() error {
			rs, err := c.GetRules(table, chain(rules.ChainForward))
			for _, r := range rs {
				if jumpsTo(r, rules.ChainToDispatch) {
					return nil
				}
			}
			return fmt.Errorf("the jump to %s is missing (%v)", rules.ChainToDispatch, err)
		}},
	}
}

func jumpsTo(r *nftables.Rule, chain string) bool {
	for _, e := range r.Exprs {
		if v, ok := e.(*expr.Verdict); ok && v.Chain == chain {
			return true
		}
	}
	return false
}

// verdictChain is the chain of a verdict map element's data as
// google/nftables reads it back (the nested verdict attributes, undecoded).
func verdictChain(val []byte) string {
	ad, err := netlink.NewAttributeDecoder(val)
	if err != nil {
		return ""
	}
	for ad.Next() {
		if ad.Type() == unix.NFTA_VERDICT_CHAIN {
			return strings.TrimRight(ad.String(), "\x00")
		}
	}
	return ""
}
