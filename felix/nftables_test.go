package felix

import (
	"testing"

	"github.com/google/nftables"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
)

func nftConnIn(t *testing.T, n *felixtest.NS) *nftables.Conn {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(*n.NS.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ourIPv4Chain(name string) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: &nftables.Table{Name: nftrules.TableName, Family: nftables.TableFamilyIPv4}}
}

// flushNftChain empties one chain of our IPv4 table, as `nft flush chain`.
func flushNftChain(t *testing.T, n *felixtest.NS, chain string) {
	t.Helper()
	c := nftConnIn(t, n)
	c.FlushChain(ourIPv4Chain(chain))
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

// nftRuleCount counts the rules of one chain of our IPv4 table (-1: no
// such chain).
func nftRuleCount(t *testing.T, n *felixtest.NS, chain string) int {
	t.Helper()
	ch := ourIPv4Chain(chain)
	rules, err := nftConnIn(t, n).GetRules(ch.Table, ch)
	if err != nil {
		return -1
	}
	return len(rules)
}
