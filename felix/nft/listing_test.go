package nft_test

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// TestList: the listing of our tables names each table, its base chains
// with their hooks, its chains with their rule counts, the dispatch and
// source maps' elements and the selector set's members under the names
// given (a number without one as "#<hex>"); with no tables it says so.
func TestList(t *testing.T) {
	d, _ := newDriver(t)
	var empty strings.Builder
	if err := d.List(&empty, nil); err != nil || !strings.Contains(empty.String(), "no Calico nftables tables") {
		t.Fatalf("listing of an empty namespace: %q (err %v)", empty.String(), err)
	}
	tab := scaleTable(t, 20, nil)
	var named string // a selector's set a policy of a shard matches
	for _, p := range tab.Parts() {
		for name, s := range p.Sets {
			if !s.IsVMap() && strings.HasPrefix(name, "cali40s-") {
				named = name
			}
		}
	}
	tab.SetIPSet(strings.Replace(named, "-", ":", 1), []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.3.0.7/32")}, false)
	if err := d.Apply(map[int]*nftrules.Table{4: tab}, true, false); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := d.List(&b, map[[8]byte]string{nftrules.SetID(named): named}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	iface := rules.ScaleIface(3)
	for _, want := range []string{
		`(?m)^table ip calico$`,
		`(?m)^table ip calico-wl0$`,
		`(?m)^  chain forward  hook forward priority -5  1 rule\(s\)  counted \d+ packet\(s\)`,
		`(?m)^  chain wl-forward-from  hook forward priority -4  \d+ rule\(s\)`,
		`(?m)^  chain ` + nftrules.SpoofedChain + `  1 rule\(s\)`,
		`(?m)^  map ` + rules.ChainFromDispatch + `  20 element\(s\)$`,
		`(?m)^    ` + iface + ` : return$`,
		`(?m)^    ` + iface + ` : goto ` + nftrules.SpoofedChain + `$`,
		`(?m)^    ` + iface + ` 02:42:0a:00:00:03 10\.0\.0\.3 : goto cali-ge-`,
		`(?m)^    ` + named + ` \(number [0-9a-f]{16}\): 10\.1\.0\.0-10\.1\.255\.255, 10\.3\.0\.7$`,
		`(?m)^    #[0-9a-f]{16} \(number [0-9a-f]{16}\): 10\.0\.0\.\d+$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("listing lacks %s:\n%s", want, out)
		}
	}
}
