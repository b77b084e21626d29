package ipam

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func keyExists(t *testing.T, cli *clientv3.Client, key string) bool {
	t.Helper()
	resp, err := cli.Get(context.Background(), key, clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count > 0
}

func TestReleaseAffinity(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.30.0.0/24", 26)
	gone := New(s, "gone")
	v4, _ := mustAuto(t, gone, "h1", 2, 0)
	block := cidr("10.30.0.0/26")
	other := New(s, "calicoctl")
	ctx := testCtx(t)

	// Not empty: refused, with the count, and nothing changes.
	rev := revision(t, s.Client())
	err := other.ReleaseAffinity(ctx, "gone", block)
	var inUse *BlockInUseError
	if !errors.As(err, &inUse) || inUse.InUse != 2 || !errors.Is(err, ErrBlockInUse) ||
		!strings.Contains(err.Error(), "still has 2 allocated address(es)") {
		t.Fatalf("non-empty block: got %v", err)
	}
	assertUnchanged(t, s.Client(), rev, "refused ReleaseAffinity")

	// Another node's name, an unknown block, a non-block CIDR: refused.
	for _, tc := range []struct {
		node string
		cidr string
		want error
	}{
		{"host2", "10.30.0.0/26", ErrNotAffine},
		{"gone", "10.30.0.64/26", ErrNotAffine},
		{"gone", "10.30.0.1/26", ErrInvalid},
		{"bad/name", "10.30.0.0/26", ErrInvalid},
	} {
		if err := other.ReleaseAffinity(ctx, tc.node, cidr(tc.cidr)); !errors.Is(err, tc.want) {
			t.Errorf("ReleaseAffinity(%s, %s) = %v, want %v", tc.node, tc.cidr, err, tc.want)
		}
	}
	assertUnchanged(t, s.Client(), rev, "refused ReleaseAffinity")

	// Emptied: freed, block and affinity gone, and the block is claimable again.
	if _, err := other.ReleaseIPs(ctx, v4...); err != nil {
		t.Fatal(err)
	}
	if err := other.ReleaseAffinity(ctx, "gone", block); err != nil {
		t.Fatalf("empty block: %v", err)
	}
	if keyExists(t, s.Client(), blockKey(block)) || keyExists(t, s.Client(), affinityKey("gone", block)) {
		t.Error("block or affinity key still there after ReleaseAffinity")
	}
	if bs, err := gone.AffineBlocks(ctx, "gone"); err != nil || len(bs) != 0 {
		t.Errorf("AffineBlocks after release = %v, %v", bs, err)
	}
	if err := other.ReleaseAffinity(ctx, "gone", block); !errors.Is(err, ErrNotAffine) {
		t.Errorf("second release: %v, want ErrNotAffine", err)
	}
	fresh := New(s, "host3")
	got, _ := mustAuto(t, fresh, "h3", 1, 0)
	if !block.Contains(got[0]) {
		t.Errorf("new node got %s, want an address of the freed block %s", got[0], block)
	}
}

func TestReleaseAffinityDropsStaleAffinityKey(t *testing.T) {
	s := newStore(t)
	block := cidr("10.31.0.64/26")
	if _, err := s.Client().Put(context.Background(), affinityKey("gone", block), affinityValue); err != nil {
		t.Fatal(err)
	}
	if err := New(s, "calicoctl").ReleaseAffinity(testCtx(t), "gone", block); err != nil {
		t.Fatalf("stale affinity: %v", err)
	}
	if keyExists(t, s.Client(), affinityKey("gone", block)) {
		t.Error("stale affinity key kept")
	}
}

// A block that gains an address between the read and the delete is kept:
// the delete is a compare-and-swap on the block.
func TestReleaseAffinityLosesRaceSafely(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p1", "10.32.0.0/24", 26)
	gone := New(s, "gone")
	v4, _ := mustAuto(t, gone, "h1", 1, 0)
	if _, err := gone.ReleaseIPs(testCtx(t), v4...); err != nil {
		t.Fatal(err)
	}
	a := New(s, "calicoctl")
	block := cidr("10.32.0.0/26")
	// Read the block as empty, then allocate before deleting.
	done, err := a.releaseAffinityOnceAfter(testCtx(t), "gone", block, func() { mustAuto(t, gone, "h2", 1, 0) })
	if done || err != nil {
		t.Fatalf("delete after a concurrent allocation: done=%v err=%v, want a lost compare-and-swap", done, err)
	}
	if !keyExists(t, s.Client(), blockKey(block)) {
		t.Fatal("block deleted under a new allocation")
	}
	if err := a.ReleaseAffinity(testCtx(t), "gone", block); !errors.Is(err, ErrBlockInUse) {
		t.Errorf("retry: %v, want ErrBlockInUse", err)
	}
}

// releaseAffinityOnceAfter is releaseAffinityOnce with hook run between
// the read and the compare-and-swap (a fault injection point for tests).
func (a *Allocator) releaseAffinityOnceAfter(ctx context.Context, node string, cidr netip.Prefix, hook func()) (bool, error) {
	kv, ok, err := a.getKey(ctx, blockKey(cidr))
	if err != nil || !ok {
		return false, err
	}
	hook()
	return a.deleteIfUnchanged(ctx, cidr, []string{blockKey(cidr), affinityKey(node, cidr)}, datastore.At(blockKey(cidr), kv.ModRevision))
}
