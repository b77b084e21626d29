package ipam

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestCheckPoolWrite(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p16", "10.10.0.0/16", 26)
	a := New(s, "n1")
	ctx := testCtx(t)
	mk := func(name, cidr string, bs int) *resources.IPPool {
		p := resources.NewIPPool(name)
		p.Spec.CIDR, p.Spec.BlockSize = cidr, bs
		p.Default()
		return p
	}
	for _, tc := range []struct {
		p     *resources.IPPool
		batch []*resources.IPPool
		want  string
	}{
		{mk("p17", "10.10.128.0/17", 0), nil, "overlaps IP pool p16"},
		{mk("p8", "10.0.0.0/8", 0), nil, "overlaps IP pool p16"},
		{mk("p16", "10.11.0.0/16", 26), nil, "spec.cidr cannot change"},
		{mk("p16", "10.10.0.0/16", 28), nil, "spec.blockSize cannot change"},
		{mk("a", "10.20.0.0/16", 0), []*resources.IPPool{mk("b", "10.20.0.0/24", 0)}, "written with it"},
		{mk("p16", "10.10.0.0/16", 26), nil, ""},
		{mk("new", "10.30.0.0/16", 0), []*resources.IPPool{mk("other", "10.31.0.0/16", 0)}, ""},
	} {
		err := a.CheckPoolWrite(ctx, tc.p, append(tc.batch, tc.p))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %s: %v", tc.p.Name, tc.p.Spec.CIDR, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrPoolRule)):
			t.Errorf("%s %s: %v, want %q", tc.p.Name, tc.p.Spec.CIDR, err, tc.want)
		}
	}
}

// A pool with more empty blocks than one transaction takes is deleted
// in chunks, with all its blocks and affinities.
func TestDeletePoolManyBlocks(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "small-blocks", "10.50.0.0/24", 30) // 64 blocks of 4
	a := New(s, "n1")
	ctx := testCtx(t)
	for i := range 60 {
		x := ip(fmt.Sprintf("10.50.0.%d", i*4))
		if err := a.AssignIP(ctx, x, "h", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.DeletePool(ctx, "small-blocks", ""); !errors.As(err, new(*PoolInUseError)) {
		t.Fatalf("delete in use: %v", err)
	}
	if err := a.ReleaseByHandle(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DeletePool(ctx, "small-blocks", ""); err != nil {
		t.Fatal(err)
	}
	kvs, _, err := s.ListKeys(ctx, datastore.IPAMPrefix, true)
	if err != nil || len(kvs) != 0 {
		t.Fatalf("left after the pool's deletion: %d keys (%v)", len(kvs), err)
	}
	if _, err := a.DeletePool(ctx, "small-blocks", ""); !errors.Is(err, datastore.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// An IPv4-mapped pool stored before the rules refused them is never
// allocated from, and can be deleted.
func TestStoredMappedPoolSkippedAndDeletable(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	key, _ := datastore.KeyFor(resources.KindIPPool, "", "mapped")
	val := `{"kind":"IPPool","apiVersion":"projectcalico.org/v3","metadata":{"name":"mapped"},"spec":{"cidr":"::ffff:10.9.0.0/120","blockSize":122}}`
	if _, err := s.Commit(ctx, datastore.Txn{Then: []datastore.Op{datastore.Put(key, []byte(val))}}); err != nil {
		t.Fatal(err)
	}
	a := New(s, "n1")
	if _, _, err := a.AutoAssign(ctx, AutoAssignArgs{Handle: "h", Num6: 1}); !errors.Is(err, ErrNoPool) {
		t.Fatalf("AutoAssign from only a mapped pool: %v, want ErrNoPool", err)
	}
	if _, err := a.DeletePool(ctx, "mapped", ""); err != nil {
		t.Fatalf("delete the mapped pool: %v", err)
	}
}
