package ipam

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// testCtx bounds every test's etcd calls.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newStore starts a fresh embedded etcd for the test.
func newStore(t testing.TB) *datastore.Store {
	_, cli := testenv.StartEtcd(t)
	return datastore.New(cli)
}

// addPool creates an IP pool; mod may adjust it first.
func addPool(t testing.TB, s *datastore.Store, name, cidr string, blockSize int, mod ...func(*resources.IPPool)) *resources.IPPool {
	t.Helper()
	p := resources.NewIPPool(name)
	p.Spec.CIDR = cidr
	p.Spec.BlockSize = blockSize
	for _, m := range mod {
		m(p)
	}
	if _, err := s.Create(context.Background(), p); err != nil {
		t.Fatalf("create pool %s: %v", name, err)
	}
	return p
}

func disabled(p *resources.IPPool) { p.Spec.Disabled = true }

// revision returns etcd's current revision: unchanged means nothing was written.
func revision(t testing.TB, cli *clientv3.Client) int64 {
	t.Helper()
	resp, err := cli.Get(context.Background(), "/calico/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}

// assertUnchanged fails when etcd was written since rev.
func assertUnchanged(t testing.TB, cli *clientv3.Client, rev int64, what string) {
	t.Helper()
	if now := revision(t, cli); now != rev {
		t.Errorf("%s wrote to etcd (revision %d -> %d); want no change", what, rev, now)
	}
}

func mustAuto(t testing.TB, a *Allocator, handle string, n4, n6 int) ([]netip.Addr, []netip.Addr) {
	t.Helper()
	v4, v6, err := a.AutoAssign(testCtx(t), AutoAssignArgs{Handle: handle, Num4: n4, Num6: n6})
	if err != nil {
		t.Fatalf("AutoAssign(%s, %d, %d): %v", handle, n4, n6, err)
	}
	return v4, v6
}

func ip(s string) netip.Addr     { return netip.MustParseAddr(s) }
func cidr(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// blockInfo returns the block containing addr.
func blockInfo(t testing.TB, a *Allocator, addr netip.Addr) BlockInfo {
	t.Helper()
	bs, err := a.Blocks(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.CIDR.Contains(addr) {
			return b
		}
	}
	t.Fatalf("no block holds %s", addr)
	return BlockInfo{}
}

// totalAllocated counts allocations over every block.
func totalAllocated(t testing.TB, a *Allocator) int {
	t.Helper()
	bs, err := a.Blocks(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range bs {
		n += len(b.Allocations)
		if b.Free+len(b.Allocations) != b.Size {
			t.Errorf("block %s: %d free + %d allocated != %d", b.CIDR, b.Free, len(b.Allocations), b.Size)
		}
	}
	return n
}
