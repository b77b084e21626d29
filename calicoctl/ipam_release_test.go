package calicoctl

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	ipamcmd "github.com/calico-docker/calico-libnetwork/calicoctl/ipam"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
)

// On top of ipamProblemEnv (whose vanished host9 still has a live
// endpoint's address in its block): vanished host8 left an empty block,
// vanished host7 a block whose only address is leaked.
func vanishedNodesEnv(t *testing.T) *etcdEnv {
	t.Helper()
	e := ipamProblemEnv(t)
	e.allocate(t, "host8", "10.0.192.1", "libnetwork.888888888888", map[string]string{ipam.AttrTimestamp: oldTime})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ipam.New(datastore.New(e.cli), "host8").ReleaseByHandle(ctx, "libnetwork.888888888888"); err != nil {
		t.Fatal(err)
	}
	e.allocate(t, "host7", "10.0.193.1", "libnetwork.777777777777", map[string]string{ipam.AttrTimestamp: oldTime})
	return e
}

func TestIPAMReleaseFreesBlocksOfVanishedNodes(t *testing.T) {
	e := vanishedNodesEnv(t)
	r := e.runCode(t, cli.ExitFailure, "", "ipam", "check", "-o", "json")
	var rep ipamcmd.Audit
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.OrphanBlocks) != 3 {
		t.Fatalf("check finds %d blocks of vanished nodes, want 3 (host7, host8, host9): %+v", len(rep.OrphanBlocks), rep.OrphanBlocks)
	}
	snap := e.snapshot(t)
	r = e.runCode(t, cli.ExitFailure, "no\n", "ipam", "release")
	if !strings.Contains(r.stderr, "Release these 3 address(es) and 2 block(s) of vanished nodes?") {
		t.Errorf("question: %v", r)
	}
	e.assertUnchanged(t, snap)

	r = e.runCode(t, cli.ExitOK, "", "ipam", "release", "--yes")
	for _, want := range []string{
		"Keeping block 10.0.128.0/26 of vanished node host9: 1 address(es) in it are not leaked",
		"Released 3 of 3 leaked address(es).",
		"Released block 10.0.192.0/26 of vanished node host8",
		"Released block 10.0.193.0/26 of vanished node host7",
		"Released 2 of 2 block(s) of vanished nodes.",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("release output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = e.runCode(t, cli.ExitFailure, "", "ipam", "check", "-o", "json")
	rep = ipamcmd.Audit{}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.OrphanBlocks) != 1 || rep.OrphanBlocks[0].Affinity != "host9" || len(rep.Leaks) != 0 {
		t.Errorf("after release: orphan blocks %+v, leaks %+v; want only host9's block", rep.OrphanBlocks, rep.Leaks)
	}
	// The live endpoint's address in host9's block is untouched.
	if got := e.allocations(t)["10.0.128.1"]; got != "libnetwork.d4d4d4d4d4d4" {
		t.Errorf("10.0.128.1 is held by %q after release", got)
	}
	// A freed block can be claimed again by a live node.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ipam.New(datastore.New(e.cli), "host1").AssignIP(ctx, netip.MustParseAddr("10.0.192.9"), "h", nil); err != nil {
		t.Errorf("claim the freed block: %v", err)
	}
	r = e.runCode(t, cli.ExitOK, "", "ipam", "release", "--yes")
	if !strings.Contains(r.stdout, "Keeping block 10.0.128.0/26") || !strings.Contains(r.stdout, "nothing to release") {
		t.Errorf("second release: %v", r)
	}
}
