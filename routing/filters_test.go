package routing

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

// TestPeerPolicies: a BGPPeer's filters become its peers' rules, in order,
// for the peer type they name; rules this speaker cannot apply and
// missing filters are left out; mesh peers get none.
func TestPeerPolicies(t *testing.T) {
	f := resources.NewBGPFilter("edge")
	f.Spec.ExportV4 = []resources.BGPFilterRule{
		{CIDR: "10.65.0.0/16", MatchOperator: "NotIn", Action: "Reject"},
		{CIDR: "10.66.0.0/16", MatchOperator: "In", PrefixLength: &resources.BGPFilterPrefixLength{Min: ptr(24)}, Action: "Accept"},
		{Interface: "eth0", Action: "Reject"}, // not applicable: left out
		{PeerType: "iBGP", Action: "Reject"},  // the peer is eBGP: left out
	}
	f.Spec.ImportV6 = []resources.BGPFilterRule{{CIDR: "fd00::/8", MatchOperator: "Equal", Action: "Reject"}}
	objs := append(slices.Clone(three), f,
		peer("tor", resources.BGPPeerSpec{PeerIP: "10.99.0.254", ASNumber: 64511, Filters: []string{"edge", "missing"}, KeepOriginalNextHop: true}))
	c := clusterOf(objs...)
	got := c.peerPolicies("host1", c.desiredPeers("host1"))
	tor := netip.MustParseAddr("10.99.0.254")
	want := map[netip.Addr]bgp.PeerPolicy{tor: {
		KeepNextHop: true,
		Export: []bgp.FilterRule{
			{CIDR: netip.MustParsePrefix("10.65.0.0/16"), Op: "NotIn"},
			{CIDR: netip.MustParsePrefix("10.66.0.0/16"), Op: "In", MinLen: 24, Accept: true},
		},
		Import: []bgp.FilterRule{{V6: true, CIDR: netip.MustParsePrefix("fd00::/8"), Op: "Equal"}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("policies:\n got %+v\nwant %+v", got, want)
	}
}

// TestExportsDisableBGPExport: blocks (and borrowed addresses) of a pool
// with disableBGPExport are not announced.
func TestExportsDisableBGPExport(t *testing.T) {
	quiet := resources.NewIPPool("quiet")
	quiet.Spec.CIDR, quiet.Spec.DisableBGPExport = "10.77.0.0/16", true
	loud := resources.NewIPPool("loud")
	loud.Spec.CIDR = "10.65.0.0/16"
	c := clusterOf(append(slices.Clone(three), quiet, loud)...)
	c.blocks = blockMap(block("10.65.0.0/26", "host1"), block("10.77.0.0/26", "host1"),
		block("10.77.0.64/26", "host2", "10.77.0.66@host1"))
	if got, want := c.exports("host1"), []netip.Prefix{netip.MustParsePrefix("10.65.0.0/26")}; !slices.Equal(got, want) {
		t.Errorf("exports = %v, want %v", got, want)
	}
}

// TestReadSecret: a password file is read (trailing newline dropped); a
// missing file, an empty one and names that would leave the directory
// are errors saying what to do.
func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bgp"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"tor": "s3cret\n", "empty": "\n"} {
		if err := os.WriteFile(filepath.Join(dir, "bgp", name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if pw, err := readSecret(dir, &resources.SecretKeyRef{Name: "bgp", Key: "tor"}); err != nil || pw != "s3cret" {
		t.Fatalf("read: %q %v", pw, err)
	}
	for ref, want := range map[resources.SecretKeyRef]string{
		{Name: "bgp", Key: "nope"}:  "create the file on this host",
		{Name: "bgp", Key: "empty"}: "must be 1 to 80 characters",
		{Name: "..", Key: "passwd"}: "not a plain file name",
	} {
		if _, err := readSecret(dir, &ref); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", ref, err, want)
		}
	}
}
