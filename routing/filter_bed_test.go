package routing_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestBGPFilterAndDisableBGPExport: with a real BIRD peer (a BGPPeer for
// every host), a BGPFilter on the peer keeps BIRD's route out of the hosts
// (import) and one host's block out of BIRD (export); removing the filter
// lets both through, live. A pool with disableBGPExport is never
// announced, while the default pool's blocks are.
func TestBGPFilterAndDisableBGPExport(t *testing.T) {
	b := sharedBed(t)
	requireBed(t, "bird", "birdc")
	quiet := resources.NewIPPool("quiet")
	quiet.Spec.CIDR, quiet.Spec.DisableBGPExport = "10.77.0.0/16", true
	apply(t, b, quiet)
	def, qnet := network(t, b, "filtered", netipPrefix("")), network(t, b, "quiet", netipPrefix("10.77.0.0/16"))
	h1, h2 := b.Hosts[0], b.Hosts[1]
	for _, h := range b.Hosts {
		workload(t, h, def, nil)
	}
	workload(t, h1, qnet, nil)
	hidden := blocksOf(t, b, h2.Name)[0]
	var quietBlock netip.Prefix
	for _, blk := range blocksOf(t, b, h1.Name) {
		if netip.MustParsePrefix("10.77.0.0/16").Contains(blk.Addr()) {
			quietBlock = blk
		}
	}
	if !quietBlock.IsValid() {
		t.Fatalf("%s has no block of pool quiet", h1.Name)
	}
	bird, err := b.StartBIRD("filterbird", 249, birdPeers(b, 64511, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bird.Close() })
	announced := netip.MustParsePrefix("198.51.100.0/24")

	filter := resources.NewBGPFilter("edge")
	filter.Spec.ImportV4 = []resources.BGPFilterRule{{CIDR: announced.String(), MatchOperator: "Equal", Action: "Reject"}}
	filter.Spec.ExportV4 = []resources.BGPFilterRule{{CIDR: hidden.String(), MatchOperator: "Equal", Action: "Reject"}}
	peer := resources.NewBGPPeer("filtered-tor")
	peer.Spec.PeerIP, peer.Spec.ASNumber, peer.Spec.Filters = bird.IP.String(), 64511, []string{"edge"}
	apply(t, b, filter, peer)

	birdRoutes := func(want map[netip.Prefix]bool) func() error {
		return func() error {
			got, err := bird.Routes()
			if err != nil {
				return err
			}
			for p, in := range want {
				if got[p] != in {
					return fmt.Errorf("BIRD has %s: %v, want %v (routes %v)", p, got[p], in, got)
				}
			}
			return nil
		}
	}
	want := map[netip.Prefix]bool{hidden: false, quietBlock: false}
	for _, blk := range blocksOf(t, b, h1.Name) {
		want[blk] = blk != quietBlock
	}
	eventually(t, "BIRD learns what the filter and disableBGPExport allow", birdRoutes(want))
	// BIRD's sessions are up and its route was sent: a bounded wait for
	// what must not happen.
	time.Sleep(3 * time.Second)
	if r, err := ourRoute(h1, announced); err == nil {
		t.Fatalf("the import filter let BIRD's route in: %s", r)
	}

	peer.Spec.Filters = nil
	if _, err := b.Store.Apply(ctx(t), peer); err != nil {
		t.Fatal(err)
	}
	want[hidden] = true
	eventually(t, "BIRD learns the block the filter held back", birdRoutes(want))
	eventually(t, h1.Name+" installs BIRD's route once unfiltered", func() error {
		_, err := ourRoute(h1, announced)
		return err
	})
}
