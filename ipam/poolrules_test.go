package ipam

import (
	"errors"
	"fmt"
	"strings"
	"sync"
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

// TestConcurrentOverlappingPoolCreates: pools that all overlap, created at
// once by goroutines with their own allocators (as two daemons answering
// `docker network create --subnet` would): exactly one is stored each
// round, the others are refused by the pool rule, never stored beside it.
func TestConcurrentOverlappingPoolCreates(t *testing.T) {
	s := newStore(t)
	ctx := testCtx(t)
	cidrs := []string{"10.50.0.0/16", "10.50.0.0/17", "10.50.0.0/18", "10.50.1.0/24", "10.50.0.0/20", "10.50.0.0/22", "10.50.0.0/23", "10.50.1.0/25"}
	for round := range 5 {
		start := make(chan struct{})
		errs := make([]error, len(cidrs))
		var wg sync.WaitGroup
		for i, c := range cidrs {
			a := New(s, fmt.Sprintf("host%d", i))
			p := resources.NewIPPool(fmt.Sprintf("r%d-p%d", round, i))
			p.Spec.CIDR = c
			wg.Go(func() {
				<-start
				_, errs[i] = a.CreatePool(ctx, p)
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, ErrPoolRule):
				t.Errorf("round %d: create %s: %v, want a pool-rule refusal", round, cidrs[i], err)
			}
		}
		pools, _, err := datastore.ListAs[*resources.IPPool](ctx, s, "")
		if err != nil {
			t.Fatal(err)
		}
		if created != 1 || len(pools) != 1 {
			names := []string{}
			for _, p := range pools {
				names = append(names, p.Name+" "+p.Spec.CIDR)
			}
			t.Fatalf("round %d: %d creates succeeded, stored pools %v; want exactly one", round, created, names)
		}
		if _, err := New(s, "host0").DeletePool(ctx, pools[0].Name, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCreatePoolSameNameElsewhere: CreatePool reports a taken name as
// datastore.ErrAlreadyExists and refuses an overlap with a stored pool,
// leaving the store unchanged.
func TestCreatePoolSameNameElsewhere(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p16", "10.10.0.0/16", 26)
	a := New(s, "n1")
	ctx := testCtx(t)
	rev := revision(t, s.Client())
	same := resources.NewIPPool("p16")
	same.Spec.CIDR, same.Spec.BlockSize = "10.10.0.0/16", 26
	if _, err := a.CreatePool(ctx, same); !errors.Is(err, datastore.ErrAlreadyExists) {
		t.Errorf("create of a stored pool: %v, want ErrAlreadyExists", err)
	}
	over := resources.NewIPPool("p24")
	over.Spec.CIDR = "10.10.3.0/24"
	if _, err := a.CreatePool(ctx, over); !errors.Is(err, ErrPoolRule) || !strings.Contains(err.Error(), "overlaps IP pool p16") {
		t.Errorf("create of an overlapping pool: %v", err)
	}
	assertUnchanged(t, s.Client(), rev, "refused pool creates")
}
