package nft_test

import (
	"testing"

	"github.com/google/nftables"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
)

// nftTables lists n's nftables tables by name.
func nftTables(t *testing.T, n *felixtest.NS) []string {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(*n.NS.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tb := range tables {
		out = append(out, tb.Name)
	}
	return out
}
