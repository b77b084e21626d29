package policy_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// nftDisruptions are testDisruption's breaks for the nftables dataplane:
// each is done over netlink, as `nft` would do it.
func nftDisruptions(b *bed, server, toServer, clients string) []disruption {
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
	// The server's endpoint chain, its dispatch entry and the set its
	// policy matches on are in the server's shard table.
	shard := func() *nftables.Table {
		ts := nftTablesWith(b.t, b.host, toServer)
		if len(ts) == 0 {
			b.t.Fatalf("no table holds %s", toServer)
		}
		return ts[0]
	}
	clientSet := func() *nftables.Set {
		return &nftables.Set{Table: shard(), Name: nftrules.SetName(clients), KeyType: nftables.TypeIPAddr, Interval: true}
	}
	dockerFwd := &nftables.Chain{Name: "FORWARD", Table: &nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4}}
	return []disruption{
		{"delete an endpoint chain and its dispatch entry", func() {
			key := make([]byte, 16)
			copy(key, server)
			st := shard()
			vmap := &nftables.Set{Table: st, Name: rules.ChainToDispatch, KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict, IsMap: true}
			must(c.SetDeleteElements(vmap, []nftables.SetElement{{Key: key}}))
			c.FlushChain(&nftables.Chain{Name: toServer, Table: st})
			c.DelChain(&nftables.Chain{Name: toServer, Table: st})
			must(nil)
		}, func() error {
			if len(nftTablesWith(b.t, b.host, toServer)) == 0 {
				return fmt.Errorf("chain %s is missing", toServer)
			}
			return nil
		}},
		{"flush an IP set", func() {
			c.FlushSet(clientSet())
			must(nil)
		}, func() error {
			elems, err := c.GetSetElements(clientSet())
			if err != nil || len(elems) == 0 {
				return fmt.Errorf("set %s is empty (%v)", clients, err)
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
