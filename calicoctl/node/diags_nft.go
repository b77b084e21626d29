package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/calico-docker/calico-libnetwork/calicoctl/policy"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/felix/nat"
	"github.com/calico-docker/calico-libnetwork/felix/nft"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// collectNftables adds nftables.txt: the daemon's nftables tables as the
// kernel holds them (its nftables dataplane; none in iptables mode), read
// over netlink without the nft binary. The members of each table's one
// address set (cali-sel) are shown under their sets' names, found by
// rendering this node's policy from the datastore as the daemon does;
// without the datastore they show their sets' numbers.
func (a *app) collectNftables(ctx context.Context, ar *diagsArchive, node string, st *datastore.Store, storeErr error) {
	var names map[[8]byte]string
	err := storeErr
	if err == nil {
		names, err = nftSetNames(ctx, st, node)
	}
	if err != nil {
		ar.fail("nftables.txt (set names)", fmt.Errorf("%w; the listing shows the sets' numbers instead", err))
	}
	d, err := nft.New(-1, slog.New(slog.DiscardHandler))
	if err != nil {
		ar.fail("nftables.txt", err)
		return
	}
	defer func() { _ = d.Close() }()
	var b bytes.Buffer
	if err := d.List(&b, names); err != nil {
		ar.fail("nftables.txt", err)
		return
	}
	ar.add("nftables.txt", b.Bytes())
}

// nftSetNames maps the numbers of node's address sets (nftrules.SetID) to
// their names: the selector sets of its policy, rendered for both IP
// versions, and natOutgoing's pool sets.
func nftSetNames(ctx context.Context, st *datastore.Store, node string) (map[[8]byte]string, error) {
	view, err := policy.LoadPolicyView(ctx, st)
	if err != nil {
		return nil, err
	}
	var ipsets []string
	for _, v := range []int{4, 6} {
		for name := range rules.Render(view.Model, node, rules.Config{IPVersion: v}).IPSets {
			ipsets = append(ipsets, name)
		}
		masq, all := nat.SetNames(v)
		ipsets = append(ipsets, masq, all)
	}
	return nftrules.SetNames(ipsets), nil
}
