package e2e

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/nftables"
)

// ourBinaries are the only programs the nftables plugin's image holds.
var ourBinaries = []string{"usr/bin/calico-libnetwork", "usr/bin/calicoctl"}

// checkNftablesImage: the nftables plugin's image (DATAPLANE=nftables)
// runs the daemon and calicoctl, holds no other file with content (no
// iptables, ipset or nft; what `docker export` adds is empty files and
// directories), and is no bigger than our two binaries.
func checkNftablesImage(t *testing.T, e *engine, image, build string) {
	for _, c := range []struct{ entrypoint, arg, want string }{
		{"/usr/bin/calico-libnetwork", "--version", "calico-libnetwork "},
		{"/usr/bin/calicoctl", "--help", "calicoctl"},
	} {
		if out, _ := e.try("run", "--rm", "--network", "none", "--entrypoint", c.entrypoint, image, c.arg); !strings.Contains(out, c.want) {
			t.Errorf("%s %s in the image: %q, want %q", c.entrypoint, c.arg, out, c.want)
		}
	}
	rootfs := filepath.Join(build, "plugin", "rootfs")
	var files []string
	var binSize int64
	err := filepath.WalkDir(rootfs, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > 0 { // docker export's own files (.dockerenv, etc/hosts, ...) are empty
			rel, _ := filepath.Rel(rootfs, path)
			files = append(files, rel)
			binSize += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	if !slices.Equal(files, ourBinaries) {
		t.Errorf("the plugin's rootfs holds %v, want only %v", files, ourBinaries)
	}
	if size, _ := strconv.ParseInt(e.must("image", "inspect", "-f", "{{.Size}}", image), 10, 64); size > binSize+64<<10 {
		t.Errorf("image is %d bytes, our binaries %d: it holds more than them", size, binSize)
	}
}

// checkNftablesOnHost: the nftables plugin programs our tables in the
// host's namespace, and no chain of ours in iptables (its accepts in
// Docker's FORWARD aside) nor any IP set.
func checkNftablesOnHost(t *testing.T) {
	if !calicoTableOnHost(t) {
		t.Error("no ip calico table on the host")
	}
	for _, l := range iptablesOursOnHost(t) {
		t.Errorf("iptables rule or chain of ours with the nftables plugin: %s", l)
	}
	if sets, err := hostCmd(t, "ipset", "list", "-n"); err == nil {
		for _, s := range strings.Fields(sets) {
			if strings.HasPrefix(s, "cali") {
				t.Errorf("IP set %s with the nftables plugin", s)
			}
		}
	}
}

// calicoTableOnHost reports whether the host namespace has our ip calico
// table (the nftables dataplane's).
func calicoTableOnHost(t *testing.T) bool {
	t.Helper()
	return slices.Contains(hostTables(t, nftables.TableFamilyIPv4), "calico")
}

// hostTables lists the names of the host's nftables tables of a family.
func hostTables(t *testing.T, family nftables.TableFamily) []string {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(family)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tb := range tables {
		out = append(out, tb.Name)
	}
	return out
}

// egressShardsOnHost lists the host's netdev tables of the nftables
// dataplane's egress mode (calico-v4-to<N>: workloads' ingress policy on
// their interfaces' egress hook, where the kernel hooks by name prefix).
func egressShardsOnHost(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, name := range hostTables(t, nftables.TableFamilyNetdev) {
		if strings.HasPrefix(name, "calico-v4-to") {
			out = append(out, name)
		}
	}
	return out
}

// iptablesOursOnHost lists the host's iptables-nft lines naming a cali-
// chain (the iptables dataplane's; the nftables one's accepts in Docker's
// FORWARD carry cali:nft-accept comments and no such name).
func iptablesOursOnHost(t *testing.T) []string {
	t.Helper()
	save, _ := hostCmd(t, "iptables-nft-save")
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if strings.Contains(l, "cali-") {
			out = append(out, l)
		}
	}
	return out
}
