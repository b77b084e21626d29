package ipam

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestAutoAssignClaimsAffineBlockAndRecordsHandle(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.10.0.0/24", 26)
	a := New(s, "host1")
	ctx := testCtx(t)
	v4, v6, err := a.AutoAssign(ctx, AutoAssignArgs{Handle: "ep1", Num4: 3, Attrs: map[string]string{"container": "c1"}})
	if err != nil || len(v6) != 0 {
		t.Fatalf("AutoAssign: %v %v %v", v4, v6, err)
	}
	if want := []netip.Addr{ip("10.10.0.0"), ip("10.10.0.1"), ip("10.10.0.2")}; !slices.Equal(v4, want) {
		t.Fatalf("got %v, want %v", v4, want)
	}
	blocks, err := a.AffineBlocks(ctx, "host1")
	if err != nil || !slices.Equal(blocks, []netip.Prefix{cidr("10.10.0.0/26")}) {
		t.Fatalf("AffineBlocks = %v, %v", blocks, err)
	}
	ips, err := a.IPsByHandle(ctx, "ep1")
	if err != nil || !slices.Equal(ips, v4) {
		t.Fatalf("IPsByHandle = %v, %v", ips, err)
	}
	b := blockInfo(t, a, v4[0])
	if b.Pool != "p1" || b.Affinity != "host1" || b.Size != 64 || b.Free != 61 || len(b.Allocations) != 3 {
		t.Fatalf("block = %+v", b)
	}
	at := b.Allocations[0]
	if at.Handle != "ep1" || at.Attrs["container"] != "c1" || at.Attrs[AttrNode] != "host1" || at.Attrs[AttrTimestamp] == "" {
		t.Fatalf("allocation = %+v", at)
	}
	hs, err := a.Handles(ctx)
	if err != nil || len(hs) != 1 || hs[0].Handle != "ep1" || len(hs[0].IPs) != 3 {
		t.Fatalf("Handles = %+v, %v", hs, err)
	}
}

func TestAutoAssignClaimsNewBlockWhenFull(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.0.0.0/28", 30)
	a := New(s, "host1")
	v4, _ := mustAuto(t, a, "h", 6, 0)
	for _, x := range v4 {
		if b := blockFor(x, 30); b != cidr("10.0.0.0/30") && b != cidr("10.0.0.4/30") {
			t.Errorf("%s is in %s, want one of the first two blocks", x, b)
		}
	}
	blocks, _ := a.AffineBlocks(testCtx(t), "host1")
	if !slices.Equal(blocks, []netip.Prefix{cidr("10.0.0.0/30"), cidr("10.0.0.4/30")}) {
		t.Fatalf("AffineBlocks = %v", blocks)
	}
}

func TestBorrowOnlyWhenPoolHasNoFreeBlock(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "tiny", "10.0.0.0/28", 30) // 4 blocks of 4
	ctx := testCtx(t)
	h1, h2 := New(s, "host1"), New(s, "host2")
	a1, _ := mustAuto(t, h1, "a", 12, 0) // host1 claims 3 blocks
	if _, err := h1.ReleaseIPs(ctx, a1[0], a1[5]); err != nil {
		t.Fatal(err)
	}
	b2, _ := mustAuto(t, h2, "b", 4, 0) // host2 claims the last block
	for _, x := range b2 {
		if blockInfo(t, h2, x).Affinity != "host2" {
			t.Fatalf("%s not from host2's own block while a free block existed", x)
		}
	}
	// No free block left: host2 borrows host1's two free addresses.
	b3, _ := mustAuto(t, h2, "b", 2, 0)
	for _, x := range b3 {
		bi := blockInfo(t, h2, x)
		if bi.Affinity != "host1" {
			t.Fatalf("borrowed %s from a block of %q, want host1's", x, bi.Affinity)
		}
		i := slices.IndexFunc(bi.Allocations, func(al Allocation) bool { return al.IP == x })
		if bi.Allocations[i].Attrs[AttrNode] != "host2" || bi.Allocations[i].Handle != "b" {
			t.Fatalf("borrowed allocation = %+v", bi.Allocations[i])
		}
	}
	if blocks, _ := h2.AffineBlocks(ctx, "host2"); len(blocks) != 1 {
		t.Fatalf("borrowing changed affinity: host2 holds %v", blocks)
	}
	// Now the pool is full: a clear error and nothing written.
	rev := revision(t, s.Client())
	_, _, err := h2.AutoAssign(ctx, AutoAssignArgs{Handle: "c", Num4: 1})
	if !errors.Is(err, ErrExhausted) || !strings.Contains(err.Error(), "tiny") {
		t.Fatalf("AutoAssign on a full pool = %v, want ErrExhausted naming the pool", err)
	}
	assertUnchanged(t, s.Client(), rev, "AutoAssign on a full pool")
}

func TestAutoAssignIsAllOrNothing(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p4", "10.0.0.0/28", 30)
	a := New(s, "host1")
	rev := revision(t, s.Client())
	// No IPv6 pool: nothing may be assigned, not even the IPv4 address.
	_, _, err := a.AutoAssign(testCtx(t), AutoAssignArgs{Handle: "h", Num4: 1, Num6: 1})
	if !errors.Is(err, ErrNoPool) || !strings.Contains(err.Error(), "IPv6") {
		t.Fatalf("err = %v, want ErrNoPool about IPv6", err)
	}
	assertUnchanged(t, s.Client(), rev, "a refused AutoAssign")
	// More than the pool holds: partial work is rolled back.
	if _, _, err := a.AutoAssign(testCtx(t), AutoAssignArgs{Handle: "h", Num4: 17}); !errors.Is(err, ErrExhausted) {
		t.Fatalf("err = %v, want ErrExhausted", err)
	}
	if n := totalAllocated(t, a); n != 0 {
		t.Fatalf("%d addresses left allocated after a failed AutoAssign", n)
	}
	if hs, _ := a.Handles(testCtx(t)); len(hs) != 0 {
		t.Fatalf("handles left: %+v", hs)
	}
}

func TestAutoAssignIPv6(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "v6", "fd00:10::/64", 0) // default /122
	addPool(t, s, "v4", "10.0.0.0/24", 0)
	a := New(s, "host1")
	v4, v6 := mustAuto(t, a, "h", 1, 2)
	if len(v4) != 1 || !v4[0].Is4() || !slices.Equal(v6, []netip.Addr{ip("fd00:10::"), ip("fd00:10::1")}) {
		t.Fatalf("got %v %v", v4, v6)
	}
	if b := blockInfo(t, a, v6[0]); b.CIDR != cidr("fd00:10::/122") || b.Affinity != "host1" {
		t.Fatalf("v6 block = %+v", b)
	}
	if nots, err := a.ReleaseIPs(testCtx(t), v6...); err != nil || len(nots) != 0 {
		t.Fatalf("release v6: %v %v", nots, err)
	}
}

func TestDisabledPoolSkipped(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	addPool(t, s, "a-off", "10.1.0.0/24", 26, disabled)
	addPool(t, s, "b-on", "10.2.0.0/24", 26)
	a := New(s, "host1")
	v4, _ := mustAuto(t, a, "h", 1, 0)
	if !cidr("10.2.0.0/24").Contains(v4[0]) {
		t.Fatalf("got %s from the disabled pool", v4[0])
	}
	// Restricting to the disabled pool is refused, without a write.
	rev := revision(t, s.Client())
	_, _, err := a.AutoAssign(ctx, AutoAssignArgs{Handle: "h", Num4: 1, Pools: []netip.Prefix{cidr("10.1.0.0/24")}})
	if !errors.Is(err, ErrPoolDisabled) || !strings.Contains(err.Error(), "a-off") {
		t.Fatalf("err = %v, want ErrPoolDisabled naming a-off", err)
	}
	if err := a.AssignIP(ctx, ip("10.1.0.9"), "h", nil); !errors.Is(err, ErrPoolDisabled) {
		t.Fatalf("AssignIP in a disabled pool = %v", err)
	}
	assertUnchanged(t, s.Client(), rev, "refused assignments")
	// Disabling the pool the allocator has cached (and has a block in)
	// takes effect at once: the allocation transaction guards the pool.
	p, err := datastore.GetAs[*resources.IPPool](ctx, s, "", "b-on")
	if err != nil {
		t.Fatal(err)
	}
	p.Spec.Disabled = true
	if _, err := s.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	addPool(t, s, "c-on", "10.3.0.0/24", 26)
	v4, _ = mustAuto(t, a, "h", 1, 0)
	if !cidr("10.3.0.0/24").Contains(v4[0]) {
		t.Fatalf("got %s after b-on was disabled, want one from c-on", v4[0])
	}
}

func TestRestrictToPools(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.1.0.0/24", 26)
	addPool(t, s, "p2", "10.2.0.0/24", 26)
	a := New(s, "host1")
	ctx := testCtx(t)
	for i := 0; i < 3; i++ {
		v4, _, err := a.AutoAssign(ctx, AutoAssignArgs{Handle: "h", Num4: 1, Pools: []netip.Prefix{cidr("10.2.0.0/24")}})
		if err != nil || !cidr("10.2.0.0/24").Contains(v4[0]) {
			t.Fatalf("restricted AutoAssign = %v, %v", v4, err)
		}
	}
	_, _, err := a.AutoAssign(ctx, AutoAssignArgs{Handle: "h", Num4: 1, Pools: []netip.Prefix{cidr("10.9.0.0/24")}})
	if !errors.Is(err, ErrNoPool) || !strings.Contains(err.Error(), "10.9.0.0/24") {
		t.Fatalf("unknown pool: %v", err)
	}
	// A pool created after the allocator cached the list is found.
	addPool(t, s, "p3", "10.3.0.0/24", 26)
	if _, _, err := a.AutoAssign(ctx, AutoAssignArgs{Handle: "h", Num4: 1, Pools: []netip.Prefix{cidr("10.3.0.0/24")}}); err != nil {
		t.Fatalf("new pool: %v", err)
	}
}

func TestNodeSelector(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	addPool(t, s, "rack-a", "10.1.0.0/24", 26, func(p *resources.IPPool) { p.Spec.NodeSelector = "rack == 'a'" })
	addPool(t, s, "all", "10.2.0.0/24", 26)
	n := resources.NewNode("host-a")
	n.Labels = map[string]string{"rack": "a"}
	if _, err := s.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string][]string{"host-a": {"10.1.0.0/24", "10.2.0.0/24"}, "host-b": {"10.2.0.0/24"}} {
		a := New(s, host)
		got := map[string]bool{}
		for i := 0; i < 70; i++ { // more than a block, so both pools get used where allowed
			v4, _ := mustAuto(t, a, "h-"+host, 1, 0)
			p, err := a.PoolFor(ctx, v4[0])
			if err != nil {
				t.Fatal(err)
			}
			got[p.Spec.CIDR] = true
		}
		for _, w := range want {
			delete(got, w)
		}
		if len(got) != 0 {
			t.Errorf("%s allocated from pools %v it is not selected by", host, got)
		}
	}
	_, _, err := New(s, "host-b").AutoAssign(ctx, AutoAssignArgs{Handle: "x", Num4: 1, Pools: []netip.Prefix{cidr("10.1.0.0/24")}})
	if !errors.Is(err, ErrNoPool) || !strings.Contains(err.Error(), "does not select node") {
		t.Fatalf("restricted to a pool not selecting the node: %v", err)
	}
}

func TestAssignIP(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.1.0.0/16", 26)
	ctx := testCtx(t)
	h1, h2 := New(s, "host1"), New(s, "host2")
	if err := h1.AssignIP(ctx, ip("10.1.7.7"), "ep-a", nil); err != nil {
		t.Fatal(err)
	}
	b := blockInfo(t, h1, ip("10.1.7.7"))
	if b.CIDR != cidr("10.1.7.0/26") || b.Affinity != "host1" || b.Allocations[0].Handle != "ep-a" {
		t.Fatalf("block = %+v", b)
	}
	rev := revision(t, s.Client())
	for _, a := range []*Allocator{h1, h2} { // h1 from its cache, h2 from etcd
		err := a.AssignIP(ctx, ip("10.1.7.7"), "ep-b", nil)
		var inUse *InUseError
		if !errors.As(err, &inUse) || !errors.Is(err, ErrInUse) || inUse.Handle != "ep-a" || inUse.Node != "host1" || !strings.Contains(err.Error(), `"ep-a"`) {
			t.Fatalf("second AssignIP = %v, want InUseError naming ep-a on host1", err)
		}
	}
	if err := h1.AssignIP(ctx, ip("10.99.0.1"), "ep-c", nil); !errors.Is(err, ErrNoPool) {
		t.Fatalf("AssignIP outside pools = %v", err)
	}
	for _, bad := range []struct {
		ip     netip.Addr
		handle string
	}{{netip.Addr{}, "h"}, {ip("0.0.0.0"), "h"}, {ip("10.1.0.1"), ""}, {ip("10.1.0.1"), "a/b"}} {
		if err := h1.AssignIP(ctx, bad.ip, bad.handle, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("AssignIP(%v, %q) = %v, want ErrInvalid", bad.ip, bad.handle, err)
		}
	}
	assertUnchanged(t, s.Client(), rev, "refused AssignIPs")
	// An address in another host's block is assigned from that block.
	if err := h2.AssignIP(ctx, ip("10.1.7.8"), "ep-d", nil); err != nil {
		t.Fatal(err)
	}
	if b := blockInfo(t, h2, ip("10.1.7.8")); b.Affinity != "host1" {
		t.Fatalf("block affinity changed to %q", b.Affinity)
	}
	// Auto-assignment on host1 never hands out the explicit addresses.
	v4, _ := mustAuto(t, h1, "auto", 64, 0)
	if slices.Contains(v4, ip("10.1.7.7")) || slices.Contains(v4, ip("10.1.7.8")) {
		t.Fatal("AutoAssign returned an explicitly assigned address")
	}
}

func TestReleaseAndDoubleRelease(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.1.0.0/24", 26)
	ctx := testCtx(t)
	a, other := New(s, "host1"), New(s, "host2")
	v4, _ := mustAuto(t, a, "ep1", 2, 0)
	nots, err := a.ReleaseIPs(ctx, v4[0])
	if err != nil || len(nots) != 0 {
		t.Fatalf("release = %v, %v", nots, err)
	}
	rev := revision(t, s.Client())
	for _, rel := range []*Allocator{a, other} {
		nots, err = rel.ReleaseIPs(ctx, v4[0], ip("10.1.0.200"), ip("10.77.0.1"), netip.Addr{})
		if err != nil || len(nots) != 4 {
			t.Fatalf("double release = %v, %v; want all 4 reported not allocated", nots, err)
		}
	}
	assertUnchanged(t, s.Client(), rev, "a double release")
	if ips, _ := a.IPsByHandle(ctx, "ep1"); !slices.Equal(ips, v4[1:]) {
		t.Fatalf("handle ep1 holds %v, want %v", ips, v4[1:])
	}
	// A release through another allocator (stale cache in a) is seen by a.
	if nots, err := other.ReleaseIPs(ctx, v4[1]); err != nil || len(nots) != 0 {
		t.Fatalf("release via host2 = %v, %v", nots, err)
	}
	if nots, err := a.ReleaseIPs(ctx, v4[1]); err != nil || len(nots) != 1 {
		t.Fatalf("release via stale host1 = %v, %v; want not allocated", nots, err)
	}
	if n := totalAllocated(t, a); n != 0 {
		t.Fatalf("%d left allocated", n)
	}
	// The empty block keeps its affinity and is reused.
	if blocks, _ := a.AffineBlocks(ctx, "host1"); len(blocks) != 1 {
		t.Fatalf("affinity after emptying = %v", blocks)
	}
}

func TestReleaseByHandle(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.1.0.0/28", 30)
	addPool(t, s, "p6", "fd00::/120", 126)
	ctx := testCtx(t)
	a := New(s, "host1")
	v4, v6 := mustAuto(t, a, "ep1", 6, 1) // spans two blocks
	keep, _ := mustAuto(t, a, "ep2", 1, 0)
	if err := a.AssignIP(ctx, ip("10.1.0.14"), "ep1", nil); err != nil {
		t.Fatal(err)
	}
	if ips, _ := a.IPsByHandle(ctx, "ep1"); len(ips) != len(v4)+len(v6)+1 {
		t.Fatalf("ep1 holds %v", ips)
	}
	if err := New(s, "host2").ReleaseByHandle(ctx, "ep1"); err != nil {
		t.Fatal(err)
	}
	if ips, _ := a.IPsByHandle(ctx, "ep1"); len(ips) != 0 {
		t.Fatalf("ep1 still holds %v", ips)
	}
	if n := totalAllocated(t, a); n != 1 {
		t.Fatalf("%d allocated, want only ep2's %v", n, keep)
	}
	rev := revision(t, s.Client())
	if err := a.ReleaseByHandle(ctx, "ep1"); !errors.Is(err, ErrHandleNotFound) {
		t.Fatalf("second ReleaseByHandle = %v, want ErrHandleNotFound", err)
	}
	assertUnchanged(t, s.Client(), rev, "a second ReleaseByHandle")
}

func TestSetHandle(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.1.0.0/24", 26)
	ctx := testCtx(t)
	a := New(s, "host1")
	v4, _ := mustAuto(t, a, "pending-1", 1, 0)
	if err := a.SetHandle(ctx, v4[0], "endpoint-1", map[string]string{"network": "net1"}); err != nil {
		t.Fatal(err)
	}
	if ips, _ := a.IPsByHandle(ctx, "pending-1"); len(ips) != 0 {
		t.Fatalf("old handle still holds %v", ips)
	}
	if ips, _ := a.IPsByHandle(ctx, "endpoint-1"); !slices.Equal(ips, v4) {
		t.Fatalf("new handle holds %v", ips)
	}
	al := blockInfo(t, a, v4[0]).Allocations[0]
	if al.Handle != "endpoint-1" || al.Attrs["network"] != "net1" || al.Attrs[AttrNode] != "host1" {
		t.Fatalf("allocation = %+v", al)
	}
	// Setting the same handle again is fine; an unallocated address is not.
	if err := a.SetHandle(ctx, v4[0], "endpoint-1", nil); err != nil {
		t.Fatal(err)
	}
	rev := revision(t, s.Client())
	for _, x := range []netip.Addr{ip("10.1.0.50"), ip("10.9.9.9")} {
		if err := a.SetHandle(ctx, x, "endpoint-2", nil); !errors.Is(err, ErrNotAllocated) {
			t.Errorf("SetHandle(%s) = %v, want ErrNotAllocated", x, err)
		}
	}
	assertUnchanged(t, s.Client(), rev, "refused SetHandle")
	if err := a.ReleaseByHandle(ctx, "endpoint-1"); err != nil {
		t.Fatal(err)
	}
	if n := totalAllocated(t, a); n != 0 {
		t.Fatalf("%d left", n)
	}
}

func TestEnsureDefaultPool(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	a := New(s, "host1")
	if err := a.EnsureDefaultPool(ctx, ""); err != nil {
		t.Fatal(err)
	}
	p, err := datastore.GetAs[*resources.IPPool](ctx, s, "", DefaultPoolNameV4)
	if err != nil || p.Spec.CIDR != DefaultPoolCIDR || !p.Spec.NATOutgoing || p.Spec.BlockSize != 26 {
		t.Fatalf("default pool = %+v, %v", p, err)
	}
	rev := revision(t, s.Client())
	if err := a.EnsureDefaultPool(ctx, "10.5.0.0/16"); err != nil {
		t.Fatal(err)
	}
	assertUnchanged(t, s.Client(), rev, "EnsureDefaultPool with a pool present")
	if err := New(s, "h").EnsureDefaultPool(ctx, "not-a-cidr"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad cidr: %v", err)
	}
	v4, _ := mustAuto(t, a, "h", 1, 0)
	if !cidr(DefaultPoolCIDR).Contains(v4[0]) {
		t.Fatalf("got %s", v4[0])
	}
}

func TestEnsureDefaultPoolConcurrent(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	errs := make(chan error, 4)
	for i := range 4 {
		go func() { errs <- New(s, "h"+string(rune('a'+i))).EnsureDefaultPool(ctx, "10.20.0.0/16") }()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	pools, _, err := datastore.ListAs[*resources.IPPool](ctx, s, "")
	if err != nil || len(pools) != 1 {
		t.Fatalf("pools = %v, %v", pools, err)
	}
}

func TestCorruptBlockIsReportedNotFatal(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.1.0.0/24", 26)
	ctx := testCtx(t)
	if _, err := s.Client().Put(ctx, blockKey(cidr("10.1.0.0/26")), "{garbage"); err != nil {
		t.Fatal(err)
	}
	a := New(s, "host1")
	// The corrupt block is skipped; the next one is claimed.
	v4, _ := mustAuto(t, a, "h", 1, 0)
	if cidr("10.1.0.0/26").Contains(v4[0]) {
		t.Fatalf("allocated %s from the corrupt block", v4[0])
	}
	if _, err := a.Blocks(ctx); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "10.1.0.0-26") {
		t.Fatalf("Blocks = %v, want ErrCorrupt naming the key", err)
	}
}

func TestLargeRequestSpansTransactions(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "big", "10.1.0.0/20", 20) // one block of 4096
	a := New(s, "host1")
	v4, _ := mustAuto(t, a, "many", 300, 0)
	seen := map[netip.Addr]bool{}
	for _, x := range v4 {
		seen[x] = true
	}
	if len(v4) != 300 || len(seen) != 300 {
		t.Fatalf("got %d addresses, %d distinct", len(v4), len(seen))
	}
	if err := a.ReleaseByHandle(testCtx(t), "many"); err != nil {
		t.Fatal(err)
	}
	if n := totalAllocated(t, a); n != 0 {
		t.Fatalf("%d left", n)
	}
}
