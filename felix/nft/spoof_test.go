package nft_test

import (
	"strings"
	"testing"

	"github.com/google/nftables"

	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// TestSourceMap: the endpoints' anti-spoofing chains are elements of
// their from-workload shard's source map (one per address), not chains,
// and each such shard has its SpoofedChain; a fresh driver reads the map
// back and sends nothing; an element deleted behind our back is put back
// by a full apply; an endpoint whose chain gains a rule of its own has its
// chain written and its element deleted, in one non-full apply.
func TestSourceMap(t *testing.T) {
	d, host := newDriver(t)
	const n = 600
	tab := scaleTable(t, n, nil)
	want := map[int]*nftrules.Table{4: tab}
	if err := d.Apply(want, true, false); err != nil {
		t.Fatal(err)
	}
	check := func(step string, elems, fwChains int) {
		t.Helper()
		rs := ruleset(t, host)
		gotElems, gotFW, spoofed := 0, 0, 0
		for k := range rs {
			switch {
			case strings.HasSuffix(k, " set "+nftrules.SourceMap):
				gotElems += rs[k]
			case strings.Contains(k, "/cali-fw-"):
				gotFW++
			case strings.HasSuffix(k, "/"+nftrules.SpoofedChain):
				spoofed++
			}
		}
		if gotElems != elems || gotFW != fwChains || spoofed != 1 {
			t.Errorf("%s: %d source map elements, %d cali-fw- chains, %d %s chains; want %d, %d, 1",
				step, gotElems, gotFW, spoofed, nftrules.SpoofedChain, elems, fwChains)
		}
		if d2 := driverIn(t, host); d2.Apply(want, true, false) != nil || d2.Sent() != 0 {
			t.Errorf("%s: a fresh driver's full apply sent %d messages, want none", step, d2.Sent())
		}
	}
	check("written", n, 0)

	shard := tab.Parts()[1]
	var key string
	for k := range shard.Sets[nftrules.SourceMap].VMap {
		key = k
		break
	}
	iface, mac, addr, err := nftrules.ParseSourceKey(key)
	if err != nil {
		t.Fatal(err)
	}
	set := &nftables.Set{Table: &nftables.Table{Name: shard.Name, Family: nftables.TableFamilyIPv4}, Name: nftrules.SourceMap,
		IsMap: true, Concatenation: true, DataType: nftables.TypeVerdict,
		KeyType: nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeEtherAddr, nftables.TypeIPAddr)}
	raw := append(append(append(append([]byte(iface), make([]byte, 16-len(iface))...), mac...), 0, 0), addr.AsSlice()...)
	if err := d.CommitRaw(func(c *nftables.Conn) { _ = c.SetDeleteElements(set, []nftables.SetElement{{Key: raw}}) }); err != nil {
		t.Fatalf("delete %s's element: %v", key, err)
	}
	if err := d.Apply(want, true, false); err != nil || d.Sent() == 0 {
		t.Fatalf("full apply over a source map missing %s sent %d messages (err %v), want a repair", key, d.Sent(), err)
	}
	check("repaired", n, 0)

	fw := rules.EndpointChain(iface, true)
	tab.SetChain(ipt.Chain{Name: fw, Rules: append([]ipt.Rule{{Match: "-p udp", Action: "DROP"}}, tab.Chains[fw]...)})
	if err := d.Apply(want, false, false); err != nil {
		t.Fatal(err)
	}
	check("one chain of its own", n-1, 1)
}
