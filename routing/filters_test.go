package routing

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/bgp"
)

// TestPeerPolicies: a BGPPeer's filters become its peers' rules, in order,
// for the peer type they name, with every field; missing filters are left
// out; mesh peers get none. An interface rule names this node's borrowed
// addresses whose workload interface matches. The peer is eBGP: export AS
// path conditions and prepends allow for the AS GoBGP puts first.
func TestPeerPolicies(t *testing.T) {
	f := resources.NewBGPFilter("edge")
	f.Spec.ExportV4 = []resources.BGPFilterRule{
		{CIDR: "10.65.0.0/16", MatchOperator: "NotIn", Action: "Reject"},
		{CIDR: "10.66.0.0/16", MatchOperator: "In", PrefixLength: &resources.BGPFilterPrefixLength{Min: ptr(24)}, Action: "Accept"},
		{Interface: "cali*", Action: "Reject"},
		{PeerType: "iBGP", Action: "Reject"}, // the peer is eBGP: left out
		{Source: "RemotePeers", Priority: ptr(7), ASPathPrefix: []resources.ASNumber{65000}, Action: "Accept", Operations: []resources.BGPFilterOperation{
			{AddCommunity: &resources.BGPFilterValue{Value: "64512:7"}},
			{PrependASPath: &resources.BGPFilterPrependPath{Prefix: []resources.ASNumber{65001}}},
			{SetPriority: &resources.BGPFilterPriority{Value: 9}}}}, // no effect on export
	}
	f.Spec.ImportV4 = []resources.BGPFilterRule{{Communities: &resources.BGPFilterCommunities{Values: []string{"65000:1:2"}}, Action: "Accept",
		Operations: []resources.BGPFilterOperation{{SetPriority: &resources.BGPFilterPriority{Value: 300}}, {PrependASPath: &resources.BGPFilterPrependPath{Prefix: []resources.ASNumber{65001}}}}}}
	f.Spec.ImportV6 = []resources.BGPFilterRule{{CIDR: "fd00::/8", MatchOperator: "Equal", Action: "Reject"}}
	wep := resources.NewWorkloadEndpoint("host1-libnetwork-libnetwork-ab")
	wep.Spec.Node, wep.Spec.InterfaceName, wep.Spec.IPNetworks = "host1", "caliab", []string{"10.65.0.70/32", "10.65.1.3/32"}
	other := resources.NewWorkloadEndpoint("host2-libnetwork-libnetwork-cd")
	other.Spec.Node, other.Spec.InterfaceName, other.Spec.IPNetworks = "host2", "calicd", []string{"10.65.0.71/32"}
	objs := append(slices.Clone(three), f, wep, other,
		peer("tor", resources.BGPPeerSpec{PeerIP: "10.99.0.254", ASNumber: 64511, Filters: []string{"edge", "missing"}, KeepOriginalNextHop: true}))
	c := clusterOf(objs...)
	c.node = "host1"
	c.apply(model.SyncEvent{Updates: []model.Update{model.UpdateOf(wep), model.UpdateOf(other)}})
	// 10.65.0.70 is borrowed from host2's block; 10.65.1.3 is in host1's.
	c.blocks = blockMap(block("10.65.0.64/26", "host2", "10.65.0.70@host1", "10.65.0.71@host2"), block("10.65.1.0/26", "host1", "10.65.1.3@host1"))
	got := c.peerPolicies("host1", c.desiredPeers("host1"), c.exports("host1"))
	tor := netip.MustParseAddr("10.99.0.254")
	want := map[netip.Addr]bgp.PeerPolicy{tor: {
		KeepNextHop: true,
		Export: []bgp.FilterRule{
			{CIDR: netip.MustParsePrefix("10.65.0.0/16"), Op: "NotIn"},
			{CIDR: netip.MustParsePrefix("10.66.0.0/16"), Op: "In", MinLen: 24, Accept: true},
			{OwnOnly: true, Own: []netip.Prefix{netip.MustParsePrefix("10.65.0.70/32")}},
			{FromPeers: true, Priority: 7, ASPathPrefix: []uint32{64512, 65000}, Accept: true, AddCommunities: []string{"64512:7"}, Prepend: []uint32{64512, 65001}},
		},
		Import: []bgp.FilterRule{
			{Community: "65000:1:2", Accept: true, SetPriority: 300, Prepend: []uint32{65001}},
			{V6: true, CIDR: netip.MustParsePrefix("fd00::/8"), Op: "Equal"}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("policies:\n got %+v\nwant %+v", got, want)
	}
	if c.apply(model.SyncEvent{Updates: []model.Update{model.UpdateOf(other)}}) || c.apply(model.SyncEvent{Updates: []model.Update{model.UpdateOf(wep)}}) {
		t.Error("an update of another node's endpoint, or an unchanged one of this node's, must not wake routing")
	}
	wep.Spec.IPNetworks = wep.Spec.IPNetworks[:1]
	if !c.apply(model.SyncEvent{Updates: []model.Update{model.UpdateOf(wep)}}) {
		t.Error("a changed endpoint of this node must wake routing")
	}
}

// TestIfaceMatches: interface patterns, * standing for any characters.
func TestIfaceMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"cali*", "cali12ab", true}, {"cali*", "eth0", false}, {"*.calico", "vxlan.calico", true},
		{"*.calico", "vxlan.cali", false}, {"*", "x", true}, {"eth0", "eth0", true}, {"eth0", "eth01", false},
		{"a*b*c", "a-b-c", true}, {"a*b*c", "a-c-b", false}, {"ab*ba", "aba", false},
	} {
		if got := ifaceMatches(tc.pattern, tc.name); got != tc.want {
			t.Errorf("ifaceMatches(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
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
