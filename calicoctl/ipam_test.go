package calicoctl

import (
	"encoding/json"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	ipamcmd "github.com/calico-docker/calico-libnetwork/calicoctl/ipam"
	"github.com/calico-docker/calico-libnetwork/ipam"
)

const oldTime = "2020-01-01T00:00:00Z"

var timestampRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

// normalizeNow replaces timestamps other than the fixtures' fixed ones
// (allocations made during the test) with <now>.
func normalizeNow(s string) string {
	return timestampRE.ReplaceAllStringFunc(s, func(ts string) string {
		if ts == oldTime || ts == fixedTime {
			return ts
		}
		return "<now>"
	})
}

// ipamProblems are, on top of operatorEnv: a leaked endpoint address and a
// leaked provisional one (both old), a fresh provisional one (within the
// grace period), a block affine to a node without a Node resource, an
// endpoint whose address is not allocated and one whose address another
// handle holds.
const ipamProblems = `
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: host9-libnetwork-libnetwork-d4d4d4d4d4d4}
spec: {node: host9, workload: ghost-host-app, endpoint: d4d4d4d4d4d4, ipNetworks: [10.0.128.1/32], interfaceName: calid4d4d4d4d4d}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: host1-libnetwork-libnetwork-e5e5e5e5e5e5}
spec: {node: host1, workload: unallocated-app, endpoint: e5e5e5e5e5e5, ipNetworks: [10.0.0.99/32], interfaceName: calie5e5e5e5e5e}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: host1-libnetwork-libnetwork-f6f6f6f6f6f6}
spec: {node: host1, workload: mismatched-app, endpoint: f6f6f6f6f6f6, ipNetworks: [10.0.0.60/32], interfaceName: calif6f6f6f6f6f}
`

func ipamProblemEnv(t *testing.T) *etcdEnv {
	t.Helper()
	e := operatorEnv(t)
	e.mustRun(t, ipamProblems, "apply", "-f", "-")
	e.allocate(t, "host1", "10.0.0.50", "libnetwork.deadbeefdead", map[string]string{"endpoint": "deadbeefdead", ipam.AttrTimestamp: oldTime})
	e.allocate(t, "host1", "10.0.0.51", "docker-ipam-00000000000000aa", map[string]string{"requested-at": oldTime, ipam.AttrTimestamp: oldTime})
	e.allocate(t, "host1", "10.0.0.52", "docker-ipam-00000000000000bb", nil) // now
	e.allocate(t, "host9", "10.0.128.1", "libnetwork.d4d4d4d4d4d4", map[string]string{ipam.AttrTimestamp: fixedTime})
	e.allocate(t, "host1", "10.0.0.60", "libnetwork.0123456789ab", map[string]string{ipam.AttrTimestamp: oldTime})
	return e
}

func TestIPAMCheckGolden(t *testing.T) {
	e := ipamProblemEnv(t)
	before := e.snapshot(t)
	r := e.runCode(t, cli.ExitFailure, "", "ipam", "check")
	checkGolden(t, "ipam_check_table", r.stdout)
	r = e.runCode(t, cli.ExitFailure, "", "ipam", "check", "-o", "json")
	checkGolden(t, "ipam_check_json", normalizeNow(r.stdout))
	var rep ipamcmd.Audit
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Leaks) != 2 || rep.Leaks[0].IP != "10.0.0.50" || rep.Leaks[1].IP != "10.0.0.51" {
		t.Errorf("leaks %+v", rep.Leaks)
	}
	if len(rep.WithinGrace) != 1 || rep.WithinGrace[0].IP != "10.0.0.52" {
		t.Errorf("the fresh allocation must be counted, not flagged: %+v", rep.WithinGrace)
	}
	if len(rep.OrphanBlocks) != 1 || rep.OrphanBlocks[0].Affinity != "host9" {
		t.Errorf("orphan blocks %+v", rep.OrphanBlocks)
	}
	if len(rep.Unallocated) != 2 {
		t.Errorf("endpoints without allocation %+v", rep.Unallocated)
	}
	// --grace 0 flags the fresh one too.
	r = e.runCode(t, cli.ExitFailure, "", "ipam", "check", "--grace", "0s", "-o", "json")
	if !strings.Contains(r.stdout, `"ip": "10.0.0.52"`) || strings.Contains(r.stdout, `"notYetFlagged": [
    {`) {
		t.Errorf("--grace 0: %s", r.stdout)
	}
	e.assertUnchanged(t, before)
}

func TestIPAMCheckClean(t *testing.T) {
	e := operatorEnv(t)
	r := e.runCode(t, cli.ExitOK, "", "ipam", "check")
	if !strings.Contains(r.stdout, "No problems found.") {
		t.Errorf("clean check: %s", r.stdout)
	}
	r = e.runCode(t, cli.ExitOK, "", "ipam", "release", "--yes")
	if !strings.Contains(r.stdout, "nothing to release") {
		t.Errorf("release with nothing leaked: %v", r)
	}
}

func TestIPAMReleaseFreesExactlyTheLeaks(t *testing.T) {
	e := ipamProblemEnv(t)
	before := e.allocations(t)
	snap := e.snapshot(t)
	// Not confirmed: nothing changes.
	r := e.runCode(t, cli.ExitFailure, "no\n", "ipam", "release")
	if !strings.Contains(r.stderr, "Release these 2 address(es)?") || !strings.Contains(r.stderr, "nothing was released") {
		t.Errorf("unconfirmed release: %v", r)
	}
	e.runCode(t, cli.ExitFailure, "", "ipam", "release") // EOF is no
	e.assertUnchanged(t, snap)
	// Confirmed on stdin.
	r = e.runCode(t, cli.ExitOK, "yes\n", "ipam", "release")
	if !strings.Contains(r.stdout, "Released 2 of 2 leaked address(es).") {
		t.Errorf("release: %v", r)
	}
	after := e.allocations(t)
	want := maps.Clone(before)
	delete(want, "10.0.0.50")
	delete(want, "10.0.0.51")
	if !maps.Equal(after, want) {
		t.Errorf("after release:\n%v\nwant\n%v", after, want)
	}
	r = e.runCode(t, cli.ExitFailure, "", "ipam", "check", "-o", "json")
	if !strings.Contains(r.stdout, `"leakedAddresses": []`) {
		t.Errorf("leaks remain: %s", r.stdout)
	}
}

func TestIPAMReleaseOne(t *testing.T) {
	e := ipamProblemEnv(t)
	snap := e.snapshot(t)
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--ip", "10.0.0.1", "--yes"}, "belongs to workload endpoint host1-libnetwork-libnetwork-a1a1a1a1a1a1 (container bookstore-frontend)"},
		{[]string{"--ip", "10.0.0.77", "--yes"}, "10.0.0.77 is not allocated"},
		{[]string{"--ip", "10.0.0.300"}, "not an IP address"},
		{[]string{"--ip", "10.0.0.52"}, "within the grace period"}, // asked, EOF declines
		{[]string{"--grace", "-1s"}, "--grace"},
	} {
		r := e.run(t, "", append([]string{"ipam", "release"}, tc.args...)...)
		if r.code != cli.ExitFailure || !strings.Contains(r.stderr, tc.wantErr) {
			t.Errorf("release %v: want exit 1 with %q, got %v", tc.args, tc.wantErr, r)
		}
	}
	e.assertUnchanged(t, snap)
	before := e.allocations(t)
	r := e.runCode(t, cli.ExitOK, "", "ipam", "release", "--ip", "10.0.0.52", "--yes")
	if r.stdout != "Released 10.0.0.52\n" {
		t.Errorf("release one: %v", r)
	}
	after := e.allocations(t)
	delete(before, "10.0.0.52")
	if !maps.Equal(after, before) {
		t.Errorf("after release of one:\n%v\nwant\n%v", after, before)
	}
}

func TestIPAMShowGolden(t *testing.T) {
	e := ipamProblemEnv(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"ipam_show_table", []string{"ipam", "show"}},
		{"ipam_show_wide", []string{"ipam", "show", "-o", "wide"}},
		{"ipam_show_blocks", []string{"ipam", "show", "--show-blocks"}},
		{"ipam_show_blocks_json", []string{"ipam", "show", "--show-blocks", "-o", "json"}},
		{"ipam_show_ip_live", []string{"ipam", "show", "--ip", "10.0.0.2"}},
		{"ipam_show_ip_live_yaml", []string{"ipam", "show", "--ip", "10.0.0.2", "-o", "yaml"}},
		{"ipam_show_ip_leaked", []string{"ipam", "show", "--ip", "10.0.0.50"}},
		{"ipam_show_ip_free", []string{"ipam", "show", "--ip", "10.0.0.77"}},
		{"ipam_show_ip_nopool", []string{"ipam", "show", "--ip", "192.0.2.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, e.runCode(t, cli.ExitOK, "", tc.args...).stdout)
		})
	}
	if r := e.run(t, "", "ipam", "show", "--ip", "nope"); r.code != 1 || !strings.Contains(r.stderr, "not an IP address") {
		t.Errorf("bad --ip: %v", r)
	}
}

// TestIPAMShowCountsReservations: addresses an IPReservation holds are
// IPS RESERVED and not IPS FREE (IPAM never hands them out); nested
// reservations count once, and an address allocated before it was
// reserved counts as in use and reserved but is taken from FREE once.
func TestIPAMShowCountsReservations(t *testing.T) {
	e := ipamProblemEnv(t)
	e.mustRun(t, `apiVersion: projectcalico.org/v3
kind: IPReservation
metadata: {name: keep}
spec: {reservedCIDRs: [10.0.0.0/30, 10.0.0.1, 10.0.128.0/26, 10.9.0.0/16, "fd00::/64"]}
`, "apply", "-f", "-")
	checkGolden(t, "ipam_show_reserved", e.runCode(t, cli.ExitOK, "", "ipam", "show").stdout)
	checkGolden(t, "ipam_show_reserved_blocks", e.runCode(t, cli.ExitOK, "", "ipam", "show", "--show-blocks").stdout)
}

// borrowedEnv adds to ipamProblemEnv what --show-borrowed reports: host2
// took addresses from host1's block (a container's, a tunnel address) and
// one allocation carries no node (unclassified).
func borrowedEnv(t *testing.T) *etcdEnv {
	t.Helper()
	e := ipamProblemEnv(t)
	e.mustRun(t, `apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: host2-libnetwork-libnetwork-b0b0b0b0b0b0}
spec: {node: host2, workload: borrower-app, endpoint: b0b0b0b0b0b0, ipNetworks: [10.0.0.40/32], interfaceName: calib0b0b0b0b0b}
`, "apply", "-f", "-")
	e.allocate(t, "host2", "10.0.0.40", "libnetwork.b0b0b0b0b0b0", map[string]string{attrWEP: "host2-libnetwork-libnetwork-b0b0b0b0b0b0", ipam.AttrTimestamp: oldTime})
	e.allocate(t, "host2", "10.0.0.41", "vxlan-tunnel-addr-host2", map[string]string{"type": "vxlanTunnelAddress", ipam.AttrTimestamp: oldTime})
	e.allocate(t, "host1", "10.0.0.42", "legacy", map[string]string{ipam.AttrNode: "", ipam.AttrTimestamp: oldTime})
	return e
}

const attrWEP = "workloadEndpoint"

func TestIPAMShowBorrowedAndConfiguration(t *testing.T) {
	e := borrowedEnv(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"ipam_show_borrowed", []string{"ipam", "show", "--show-borrowed"}},
		{"ipam_show_borrowed_json", []string{"ipam", "show", "--show-borrowed", "-o", "json"}},
		{"ipam_show_configuration", []string{"ipam", "show", "--show-configuration"}},
		{"ipam_show_configuration_yaml", []string{"ipam", "show", "--show-configuration", "-o", "yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, e.runCode(t, cli.ExitOK, "", tc.args...).stdout)
		})
	}
	for _, args := range [][]string{
		{"ipam", "show", "--show-borrowed", "--show-blocks"},
		{"ipam", "show", "--ip", "10.0.0.40", "--show-configuration"},
	} {
		r := e.run(t, "", args...)
		if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "cannot be combined: give one of --ip, --show-blocks, --show-borrowed, --show-configuration") {
			t.Errorf("%v: %v", args, r)
		}
	}
	// Nothing borrowed: the header alone, as for an empty get.
	e.clear(t)
	if got := e.runCode(t, cli.ExitOK, "", "ipam", "show", "--show-borrowed").stdout; got != "IP   BORROWING-NODE   BLOCK   BLOCK OWNER   TYPE   ALLOCATED-TO\n" {
		t.Errorf("nothing borrowed: %q", got)
	}
}
