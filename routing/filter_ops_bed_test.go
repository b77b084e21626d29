package routing_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// birdWithCommunities is BIRD's configuration (AS as) peering with every
// host and announcing statics, each with its community actions.
func birdWithCommunities(b *testbed.Bed, as uint32, statics [][2]string) string {
	var sb strings.Builder
	sb.WriteString("protocol static announced { ipv4;\n")
	for _, s := range statics {
		fmt.Fprintf(&sb, "  route %s unreachable { %s };\n", s[0], s[1])
	}
	sb.WriteString("}\n")
	for _, h := range b.Hosts {
		fmt.Fprintf(&sb, "protocol bgp %s { local as %d; neighbor %s as 64512; ipv4 { import all; export where proto = \"announced\"; }; }\n",
			h.Name, as, h.IP.Addr())
	}
	return sb.String()
}

func opsFilter(block netip.Prefix, iface string) *resources.BGPFilter {
	f := resources.NewBGPFilter("ops")
	f.Spec.ImportV4 = []resources.BGPFilterRule{
		{Communities: &resources.BGPFilterCommunities{Values: []string{"64511:1"}}, Action: "Reject"},
		{Communities: &resources.BGPFilterCommunities{Values: []string{"64511:2:3"}}, Action: "Accept",
			Operations: []resources.BGPFilterOperation{{SetPriority: &resources.BGPFilterPriority{Value: 250}}}},
	}
	f.Spec.ExportV4 = []resources.BGPFilterRule{
		{Interface: iface, Action: "Reject"},
		{Source: "RemotePeers", Action: "Reject"},
		{CIDR: block.String(), MatchOperator: "Equal", Action: "Accept", Operations: []resources.BGPFilterOperation{
			{AddCommunity: &resources.BGPFilterValue{Value: "64512:100"}},
			{AddCommunity: &resources.BGPFilterValue{Value: "64512:7:8"}},
			{PrependASPath: &resources.BGPFilterPrependPath{Prefix: []resources.ASNumber{64512, 64512}}}}},
	}
	return f
}

// TestBGPFilterOperationsWithBIRD: across the three-host bed with daemons
// and a real BIRD (AS 64511) peering with every host, a BGPFilter:
// refuses BIRD's route carrying a standard community and installs the one
// carrying a large community with metric 250 (setPriority) while a plain
// one gets the default metric; sends host1's block with a standard and a
// large community added and its AS path prepended; keeps back routes the
// hosts learned from each other (source RemotePeers), which BIRD received
// before; and keeps host2's borrowed address (on its workload's cali
// interface) from BIRD until the interface pattern no longer matches. A
// bad BGPFilter is refused with the fields named and nothing stored.
func TestBGPFilterOperationsWithBIRD(t *testing.T) {
	b := sharedBed(t)
	requireBed(t, "bird", "birdc")
	h1, h2 := b.Hosts[0], b.Hosts[1]
	def := network(t, b, "opsdef", netipPrefix(""))
	w1 := workload(t, h1, def, nil)
	workload(t, h2, def, nil)
	small := resources.NewIPPool("ops-one-block")
	small.Spec.CIDR = "10.234.0.0/26"
	apply(t, b, small)
	one := network(t, b, "opsborrow", netip.MustParsePrefix("10.234.0.0/26"))
	workload(t, h1, one, nil) // host1 claims the pool's only block
	borrower := workload(t, h2, one, nil)
	borrowed := netip.PrefixFrom(borrower.IP, 32)
	var block1, block2 netip.Prefix
	for _, blk := range blocksOf(t, b, h1.Name) {
		if blk.Contains(w1.IP) {
			block1 = blk
		}
	}
	if blocks := blocksOf(t, b, h2.Name); len(blocks) > 0 {
		block2 = blocks[0]
	}
	if !block1.IsValid() || !block2.IsValid() {
		t.Fatalf("blocks: host1 %v, host2 %v", block1, block2)
	}
	bird, err := b.StartBIRD("opsbird", 247, birdWithCommunities(b, 64511, [][2]string{
		{"198.18.1.0/24", "bgp_community.add((64511,1));"},
		{"198.18.2.0/24", "bgp_large_community.add((64511,2,3));"},
		{"198.18.3.0/24", ""},
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bird.Close() })
	peer := resources.NewBGPPeer("ops-tor")
	peer.Spec.PeerIP, peer.Spec.ASNumber = bird.IP.String(), 64511
	apply(t, b, peer)
	// Unfiltered, host1 passes on host2's block (learned over the mesh).
	eventually(t, "BIRD learns host2's block from host1 too", bird.RouteShows(block2.String(), []string{"[" + h1.Name + " ", "[" + h2.Name + " "}))

	// Bad input is refused, naming the field and the fix; nothing is stored.
	bad := opsFilter(block1, "cali/0")
	bad.Spec.ImportV4[0].Communities.Values = append(bad.Spec.ImportV4[0].Communities.Values, "64511:70000")
	_, err = b.Store.Apply(ctx(t), bad)
	for _, want := range []string{"spec.exportV4[0].interface (cali/0): is not an interface name", "spec.importV4[0].communities.values (2): must list exactly one",
		"spec.importV4[0].communities.values[1] (64511:70000): has a part above 65535"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad BGPFilter: %v, want %q", err, want)
		}
	}
	if _, err := b.Store.Get(ctx(t), resources.KindBGPFilter, "", "ops"); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("the refused BGPFilter: %v, want not found", err)
	}

	filter := opsFilter(block1, "cali*")
	apply(t, b, filter)
	peer.Spec.Filters = []string{"ops"}
	if _, err := b.Store.Apply(ctx(t), peer); err != nil {
		t.Fatal(err)
	}
	eventually(t, "priority 250 is the kernel metric", func() error {
		r, err := ourRoute(h1, netip.MustParsePrefix("198.18.2.0/24"))
		if err == nil && !strings.Contains(r, "metric 250") {
			return fmt.Errorf("route %q has no metric 250", r)
		}
		return err
	})
	// The routes come back one by one after the filter's change (the peer
	// resets): the plain one may follow the one with a priority.
	eventually(t, "the plain route has the default metric", func() error {
		r, err := ourRoute(h1, netip.MustParsePrefix("198.18.3.0/24"))
		if err == nil && strings.Contains(r, "metric") {
			return fmt.Errorf("route %q has a metric", r)
		}
		return err
	})
	eventually(t, "communities added, AS path prepended", bird.RouteShows(block1.String(),
		[]string{"BGP.as_path: 64512 64512 64512\n", "BGP.community: (64512,100)", "BGP.large_community: (64512, 7, 8)"}))
	eventually(t, "host2's block only from host2 (source RemotePeers)", bird.RouteShows(block2.String(),
		[]string{"[" + h2.Name + " "}, "["+h1.Name+" ", "["+b.Hosts[2].Name+" "))
	eventually(t, "the borrowed address is kept back (interface cali*)", func() error {
		got, err := bird.Routes()
		if err == nil && (got[borrowed] || !got[block1]) {
			return fmt.Errorf("BIRD has borrowed %s: %v, block %s: %v", borrowed, got[borrowed], block1, got[block1])
		}
		return err
	})
	// The import filter's refusal: BIRD has sent everything by now.
	time.Sleep(2 * time.Second)
	if r, err := ourRoute(h1, netip.MustParsePrefix("198.18.1.0/24")); err == nil {
		t.Errorf("the route with community 64511:1 was installed: %s", r)
	}

	if _, err := b.Store.Apply(ctx(t), opsFilter(block1, "eth*")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the borrowed address goes out once the interface does not match", bird.RouteShows(borrowed.String(),
		[]string{"[" + h2.Name + " "}))
}
