package nft_test

import (
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/internal/felixtest"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nft"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// scaleTable renders rules.ScaleModel(n, n) for IPv4 as our table, with
// the rules of appended added to the end of its first workload chain.
func scaleTable(t testing.TB, n int, extra map[string][]netip.Prefix, appended ...ipt.Rule) *nftrules.Table {
	t.Helper()
	m, err := rules.ScaleModel(n, n)
	if err != nil {
		t.Fatal(err)
	}
	res := rules.Render(m, "h1", rules.Config{IPVersion: 4})
	for k, v := range extra {
		res.IPSets[k] = v
	}
	if len(appended) > 0 {
		i := slices.IndexFunc(res.Chains, func(c ipt.Chain) bool { return strings.HasPrefix(c.Name, "cali-tw-") })
		res.Chains[i].Rules = append(slices.Clone(res.Chains[i].Rules), appended...)
	}
	tab, err := nftrules.Build(4, nftrules.Input{IPVersion: 4, Chains: res.Chains, Inserts: res.Inserts, IPSets: res.IPSets})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func newDriver(t *testing.T) (*nft.Driver, *felixtest.NS) {
	t.Helper()
	host := felixtest.NewNS(t, "nft")
	return driverIn(t, host), host
}

// driverIn opens a driver in host (another one: a restarted daemon's),
// closed when the test ends.
func driverIn(t *testing.T, host *felixtest.NS) *nft.Driver {
	t.Helper()
	d, err := nft.New(int(*host.NS.Handle()), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// TestApplyReadBackConverges: a table written, read back by a full apply
// of the same desired state, needs no rewrite; a fresh driver (a restart)
// agrees; a change rewrites only what changed; an empty desired state
// removes the table.
func TestApplyReadBackConverges(t *testing.T) {
	d, host := newDriver(t)
	cidrs := map[string][]netip.Prefix{"cali40s:nets": {
		netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.1.2.0/24"), // nested: one interval
		netip.MustParsePrefix("10.2.0.0/31"), netip.MustParsePrefix("10.2.0.2/32"), // adjacent
		netip.MustParsePrefix("192.168.0.0/16")}}
	want := map[int]*nftrules.Table{4: scaleTable(t, 600, cidrs)} // maps and sets over one message
	if err := d.Apply(want, true, false); err != nil {
		t.Fatal(err)
	}
	first := d.Rewrites()
	if first == 0 {
		t.Fatal("nothing written on the first apply")
	}
	for _, full := range []bool{true, false} {
		if err := d.Apply(want, full, false); err != nil {
			t.Fatal(err)
		}
		if n := d.Rewrites(); n != 0 {
			t.Errorf("re-apply (full=%v) rewrote %d chains, want 0", full, n)
		}
	}
	d2 := driverIn(t, host)
	// A restart's read-back (rules dumped a table at a time, sets read on
	// connections of their own) lets the endpoints' work start beside it,
	// once.
	beside := 0
	if err := d2.ApplyNotify(want, true, false, func() { beside++ }); err != nil || d2.Rewrites() != 0 {
		t.Errorf("a fresh driver rewrote %d chains (err %v), want 0", d2.Rewrites(), err)
	}
	if beside != 1 {
		t.Errorf("a fresh driver's apply called beside %d times, want once", beside)
	}
	// Nor does it refill a set or a dispatch map: their elements, verdicts
	// included, read back as written.
	if n := d2.Sent(); n != 0 {
		t.Errorf("a fresh driver's full apply of what the kernel holds sent %d messages, want none", n)
	}
	changed := scaleTable(t, 601, nil) // one more endpoint and policy, the CIDR set gone
	if err := d.Apply(map[int]*nftrules.Table{4: changed}, false, false); err != nil {
		t.Fatal(err)
	}
	if n := d.Rewrites(); n == 0 || n > first/2 {
		t.Errorf("one more endpoint and policy rewrote %d chains (first apply: %d)", n, first)
	}
	if err := d.Apply(map[int]*nftrules.Table{}, true, false); err != nil {
		t.Fatal(err)
	}
	if got := nftTables(t, host); len(got) != 0 {
		t.Errorf("tables left after an empty apply: %v", got)
	}
}

// TestTamperedDispatchMapRepaired: a dispatch map element whose verdict
// someone changed reads back as different and a full apply rewrites it;
// then the kernel holds what a fresh driver wants again.
func TestTamperedDispatchMapRepaired(t *testing.T) {
	d, host := newDriver(t)
	want := map[int]*nftrules.Table{4: scaleTable(t, 20, nil)}
	if err := d.Apply(want, true, false); err != nil {
		t.Fatal(err)
	}
	main := want[4].Parts()[0]
	var iface string
	for k := range main.Sets[rules.ChainFromDispatch].VMap {
		iface = k
		break
	}
	set := &nftables.Set{Table: &nftables.Table{Name: main.Name, Family: nftables.TableFamilyIPv4},
		Name: rules.ChainFromDispatch, IsMap: true, KeyType: nftables.TypeIFName, DataType: nftables.TypeVerdict}
	key := append([]byte(iface), make([]byte, 16-len(iface))...)
	err := d.CommitRaw(func(c *nftables.Conn) {
		_ = c.SetDeleteElements(set, []nftables.SetElement{{Key: key}})
		_ = c.SetAddElements(set, []nftables.SetElement{{Key: key, VerdictData: &expr.Verdict{Kind: expr.VerdictDrop}}})
	})
	if err != nil {
		t.Fatalf("tamper with %s's dispatch element: %v", iface, err)
	}
	if err := d.Apply(want, true, false); err != nil || d.Sent() == 0 {
		t.Fatalf("full apply over a tampered dispatch map sent %d messages (err %v), want a repair", d.Sent(), err)
	}
	d2 := driverIn(t, host)
	if err := d2.Apply(want, true, false); err != nil || d2.Sent() != 0 {
		t.Errorf("after the repair a fresh driver sent %d messages (err %v), want none", d2.Sent(), err)
	}
}

// TestShardTablesFollowEndpoints: the workload shards grow with the
// endpoints and the ones no longer wanted are deleted in the same
// transaction; a restart reads every shard back and rewrites nothing.
func TestShardTablesFollowEndpoints(t *testing.T) {
	d, host := newDriver(t)
	for _, tc := range []struct {
		n    int
		want []string
	}{
		// One from-workload shard (calico-wl0) up to 1,024 endpoints
		// here, then the to-workload shards.
		{100, []string{"calico", "calico-wl0", "calico-wl1"}},
		{600, []string{"calico", "calico-wl0", "calico-wl1", "calico-wl2", "calico-wl3", "calico-wl4"}},
		{20, []string{"calico", "calico-wl0", "calico-wl1"}},
	} {
		tab := scaleTable(t, tc.n, nil)
		tab.ShardSize = 256 // several shards from a few hundred endpoints
		want := map[int]*nftrules.Table{4: tab}
		if err := d.Apply(want, false, false); err != nil {
			t.Fatal(err)
		}
		got := nftTables(t, host)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%d endpoints: tables %v, want %v", tc.n, got, tc.want)
		}
		d2 := driverIn(t, host)
		if err := d2.Apply(want, true, false); err != nil || d2.Rewrites() != 0 {
			t.Errorf("%d endpoints: a fresh driver rewrote %d chains (err %v), want 0", tc.n, d2.Rewrites(), err)
		}
	}
}

// TestShardsChangeDirection: when the from-workload shards grow in number,
// tables that were to-workload shards become from-workload ones (and back
// when they shrink); each apply leaves every table with exactly its new
// base chains, and a fresh driver finds nothing to rewrite.
func TestShardsChangeDirection(t *testing.T) {
	d, host := newDriver(t)
	for _, n := range []int{100, 600, 100} {
		tab := scaleTable(t, n, nil)
		tab.ShardSize = 64 // 100: 1 from + 2 to shards; 600: 4 from + 16 to
		want := map[int]*nftrules.Table{4: tab}
		if err := d.Apply(want, false, false); err != nil {
			t.Fatal(err)
		}
		wantHooks := partHooks(tab)
		if got := baseChains(t, host); !maps.EqualFunc(got, wantHooks, slices.Equal) {
			t.Errorf("%d endpoints: base chains %v, want %v", n, got, wantHooks)
		}
		d2 := driverIn(t, host)
		if err := d2.Apply(want, true, false); err != nil || d2.Rewrites() != 0 {
			t.Errorf("%d endpoints: a fresh driver rewrote %d chains (err %v), want 0", n, d2.Rewrites(), err)
		}
	}
}

// TestFailedApplyChangesNothing: a transaction with one message the kernel
// refuses (a rule going to a chain that does not exist), among the many of
// a real change, fails with an error naming that rule's chain, leaves the
// kernel's tables as they were, and the driver converges from there.
func TestFailedApplyChangesNothing(t *testing.T) {
	d, host := newDriver(t)
	want := map[int]*nftrules.Table{4: scaleTable(t, 40, nil)}
	if err := d.Apply(want, true, false); err != nil {
		t.Fatal(err)
	}
	before := ruleset(t, host)
	broken := ipt.Rule{Match: "-g cali-missing"}
	bad := map[int]*nftrules.Table{4: scaleTable(t, 41, nil, broken)}
	err := d.Apply(bad, false, false)
	if err == nil {
		t.Fatal("an apply referring to a missing chain succeeded")
	}
	t.Logf("the failed apply: %v", err)
	for _, s := range []string{"add rule in chain calico", "/cali-tw-", "no such file or directory"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if after := ruleset(t, host); !maps.Equal(before, after) {
		t.Errorf("a failed apply changed the tables: %d chains and sets before, %d after", len(before), len(after))
	}
	if err := d.Apply(want, false, false); err != nil || d.Rewrites() != 0 {
		t.Errorf("after the failure, the old table rewrote %d chains (err %v), want 0", d.Rewrites(), err)
	}
	if err := d.Apply(bad, false, false); err == nil {
		t.Error("the failing apply succeeded the second time")
	}
}

// TestDriverInCurrentNamespace: a driver for the current namespace (-1,
// the daemon's case) programs it; here the current namespace is the
// test's own, entered for the dial.
func TestDriverInCurrentNamespace(t *testing.T) {
	host := felixtest.NewNS(t, "nftcur")
	var d *nft.Driver
	if err := host.NS.Do(func() (err error) {
		d, err = nft.New(-1, slog.Default())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Apply(map[int]*nftrules.Table{4: scaleTable(t, 10, nil)}, true, false); err != nil {
		t.Fatal(err)
	}
	if got := nftTables(t, host); !slices.Contains(got, nftrules.TableName) {
		t.Errorf("tables %v, want ours", got)
	}
}

// TestNewChainsEncodedInParallel: chains new to the kernel (a start of
// day's) are compiled and encoded by several goroutines while the plan
// goes on (encode.go). The kernel then holds just what a driver reading it back
// wants (no rewrite), and a rule that does not compile among them fails
// the apply, naming its chain, before anything reaches the kernel.
func TestNewChainsEncodedInParallel(t *testing.T) {
	d, host := newDriver(t)
	bad := ipt.Rule{Match: "-m physdev --physdev-in x", Action: "DROP"}
	err := d.Apply(map[int]*nftrules.Table{4: scaleTable(t, 100, nil, bad)}, true, false)
	if err == nil || !strings.Contains(err.Error(), "chain cali-tw-") || !strings.Contains(err.Error(), `"physdev"`) {
		t.Errorf("apply with a rule that does not compile: %v, want an error naming its chain and match", err)
	}
	if got := nftTables(t, host); len(got) != 0 {
		t.Errorf("the failed apply left tables %v", got)
	}
	want := map[int]*nftrules.Table{4: scaleTable(t, 100, nil)}
	if err := d.Apply(want, true, false); err != nil {
		t.Fatal(err)
	}
	if d.Rewrites() < 100 {
		t.Fatalf("wrote %d chains, want the ~100 of 100 endpoints × 100 policies (each endpoint's group chain; anti-spoofing is in the source map)", d.Rewrites())
	}
	fresh := driverIn(t, host)
	if err := fresh.Apply(want, true, false); err != nil || fresh.Rewrites() != 0 {
		t.Errorf("a fresh driver reading the tables back rewrote %d chains (err %v), want 0", fresh.Rewrites(), err)
	}
}

// TestMarkClearFusedWithJump: a group chain's mark clear and the jump
// after it are one kernel rule (the clear's statements, then the jump),
// and the chain reads back as written (a re-apply rewrites nothing).
func TestMarkClearFusedWithJump(t *testing.T) {
	d, host := newDriver(t)
	want := map[int]*nftrules.Table{4: scaleTable(t, 3, nil)}
	c, err := nftables.New(nftables.WithNetNSFd(int(*host.NS.Handle())))
	if err != nil {
		t.Fatal(err)
	}
	// groups returns the kernel's ingress group chains' rules.
	groups := func() map[string][]*nftables.Rule {
		t.Helper()
		if err := d.Apply(want, true, false); err != nil {
			t.Fatal(err)
		}
		chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]*nftables.Rule{}
		for _, ch := range chains {
			if strings.HasPrefix(ch.Name, "cali-gi-") {
				if out[ch.Name], err = c.GetRules(ch.Table, ch); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(out) != 3 {
			t.Fatalf("%d ingress group chains, want 3", len(out))
		}
		return out
	}
	isMarkSet := func(e expr.Any) bool {
		set, _ := e.(*expr.Meta)
		return set != nil && set.SourceRegister && set.Key == expr.MetaKeyMARK
	}
	// Each policy is its group's only one: the group holds its Allow,
	// the mark set and the return in one rule (nftrules/inline.go), then
	// the end-of-tier drop.
	for name, got := range groups() {
		if len(got) != 2 {
			t.Fatalf("%s: %d rules, want 2", name, len(got))
		}
		first := got[0].Exprs
		ret, _ := first[len(first)-1].(*expr.Verdict)
		if !slices.ContainsFunc(first, isMarkSet) || ret == nil || ret.Kind != expr.VerdictReturn {
			t.Errorf("%s: first rule %v, want the Allow's match, the mark set and a return", name, first)
		}
	}
	// Two groups jumping to one policy keep the jump: clear + jump to the
	// policy (one rule), return if accepted, the end-of-tier drop.
	pol := ""
	for name := range want[4].Chains {
		if strings.HasPrefix(name, "cali-pi-") {
			pol = name
			break
		}
	}
	for name := range want[4].Chains {
		if strings.HasPrefix(name, "cali-gi-") {
			want[4].SetChain(ipt.Chain{Name: name, Rules: []ipt.Rule{{Action: rules.MarksCleared}, {Action: pol},
				rules.AcceptedReturn, {Action: "DROP"}}})
		}
	}
	for name, got := range groups() {
		if len(got) != 3 {
			t.Fatalf("%s: %d rules, want 3", name, len(got))
		}
		first := got[0].Exprs
		jump, _ := first[len(first)-1].(*expr.Verdict)
		if len(first) != 4 || !isMarkSet(first[2]) || jump == nil || jump.Kind != expr.VerdictJump || jump.Chain != pol {
			t.Errorf("%s: first rule %v, want the mark clear then a jump to %s", name, first, pol)
		}
	}
	if err := d.Apply(want, true, false); err != nil || d.Rewrites() != 0 {
		t.Errorf("re-apply rewrote %d chains (err %v), want 0", d.Rewrites(), err)
	}
}
