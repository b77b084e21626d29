package calicoctl

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
)

func poolYAML(name, cidr, extra string) string {
	return "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {name: " + name + "}\nspec:\n  cidr: " + cidr + "\n" + extra
}

// Calico's pool rules hold on apply, create, replace and delete, and a
// refused write changes nothing.
func TestPoolRules(t *testing.T) {
	e := startEtcd(t)
	wantOK(t, e.run(t, poolYAML("p16", "10.10.0.0/16", "  blockSize: 26\n"), "apply", "-f", "-"), "Successfully applied 1")
	before := e.snapshot(t)
	for _, tc := range []struct{ name, in, verb, want string }{
		{"overlap stored", poolYAML("p17", "10.10.128.0/17", ""), "apply", "overlaps IP pool p16 (10.10.0.0/16)"},
		{"overlap create", poolYAML("p17", "10.10.128.0/17", ""), "create", "overlaps IP pool p16"},
		{"overlap in one file", poolYAML("a", "10.20.0.0/16", "") + "---\n" + poolYAML("b", "10.20.1.0/24", ""), "apply", "overlaps IP pool a (10.20.0.0/16) written with it"},
		{"cidr change", poolYAML("p16", "10.11.0.0/16", "  blockSize: 26\n"), "replace", "spec.cidr cannot change"},
		{"blockSize change", poolYAML("p16", "10.10.0.0/16", "  blockSize: 28\n"), "apply", "spec.blockSize cannot change (26 -> 28)"},
		{"v4-mapped", poolYAML("m", "::ffff:10.9.0.0/120", ""), "apply", "IPv4-mapped"},
		{"link-local", poolYAML("ll", "169.254.0.0/16", ""), "apply", "link-local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFail(t, e.run(t, tc.in, tc.verb, "-f", "-"), tc.want)
			e.assertUnchanged(t, before)
		})
	}
	// A change that keeps CIDR and block size is fine.
	wantOK(t, e.run(t, poolYAML("p16", "10.10.0.0/16", "  blockSize: 26\n  disabled: true\n"), "apply", "-f", "-"), "Successfully applied 1")
}

// Deleting a pool in use is refused with the way out; once its addresses
// are gone, the delete takes its empty blocks and affinities with it.
func TestPoolDeleteWithAllocations(t *testing.T) {
	e := startEtcd(t)
	wantOK(t, e.run(t, poolYAML("p", "10.30.0.0/16", ""), "apply", "-f", "-"), "Successfully applied 1")
	e.allocate(t, "host1", "10.30.0.5", "h1", nil)
	e.allocate(t, "host2", "10.30.1.5", "h2", nil)
	before := e.snapshot(t)
	r := e.run(t, "", "delete", "ippool", "p")
	wantFail(t, r, "still has 2 allocated address(es)")
	wantFail(t, r, "disable it first")
	e.assertUnchanged(t, before)
	alloc := cli.NewAllocator(datastore.New(e.cli))
	for _, ip := range []string{"10.30.0.5", "10.30.1.5"} {
		if _, err := alloc.ReleaseIPs(context.Background(), netip.MustParseAddr(ip)); err != nil {
			t.Fatal(err)
		}
	}
	wantOK(t, e.run(t, "", "delete", "ippool", "p"), "Successfully deleted 1")
	for k := range e.snapshot(t) {
		if strings.Contains(k, "/ipam/") {
			t.Errorf("left behind after the pool's deletion: %s", k)
		}
	}
}

// Blocks left in no pool (a pool deleted before the rules held) are
// reported by ipam check and freed by ipam release once empty.
func TestBlocksInNoPool(t *testing.T) {
	e := startEtcd(t)
	wantOK(t, e.run(t, poolYAML("gone", "10.40.0.0/16", ""), "apply", "-f", "-"), "Successfully applied 1")
	e.allocate(t, "host1", "10.40.0.5", "libnetwork.deadbeef0001", nil)
	e.allocate(t, "host1", "10.40.0.6", "libnetwork.deadbeef0002", nil)
	if _, err := datastore.New(e.cli).Delete(context.Background(), "IPPool", "", "gone", ""); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, "", "ipam", "check", "--grace", "0s")
	if !strings.Contains(r.stdout, "Blocks in no IP pool (their pool was deleted): 1") || strings.Contains(r.stdout, "No problems found") {
		t.Fatalf("ipam check:\n%v", r)
	}
	r = e.mustRun(t, "", "ipam", "release", "--yes", "--grace", "0s")
	if !strings.Contains(r.stdout, "Released 2 of 2 leaked") || !strings.Contains(r.stdout, "Released block 10.40.0.0/26 in no pool") {
		t.Fatalf("ipam release:\n%v", r)
	}
	for k := range e.snapshot(t) {
		if strings.Contains(k, "/ipam/") {
			t.Errorf("left behind: %s", k)
		}
	}
}
