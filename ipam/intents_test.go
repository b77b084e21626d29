package ipam

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

func TestIntentsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "intents.json")
	q, err := OpenIntents(path)
	if err != nil {
		t.Fatal(err)
	}
	in := []Intent{{IP: ip("10.0.0.1"), Handle: "h1", Before: time.Unix(100, 0).UTC()}, {Handle: "h2", Before: time.Unix(200, 0).UTC()}}
	if err := q.Add(in...); err != nil {
		t.Fatal(err)
	}
	q2, err := OpenIntents(path)
	if err != nil {
		t.Fatal(err)
	}
	got := q2.Pending()
	if len(got) != 2 || !got[0].equal(in[0]) || !got[1].equal(in[1]) {
		t.Fatalf("reopened intents = %+v, want %+v", got, in)
	}
	if err := q2.remove(got[:1]); err != nil {
		t.Fatal(err)
	}
	q3, _ := OpenIntents(path)
	if p := q3.Pending(); len(p) != 1 || p[0].Handle != "h2" {
		t.Fatalf("after remove: %+v", p)
	}
}

func TestIntentsCorruptFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "intents.json")
	q, _ := OpenIntents(path)
	_ = q.Add(Intent{Handle: "x"})
	if err := writeFile(path, "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenIntents(path); err == nil {
		t.Fatal("a corrupt intents file was accepted")
	}
}

// An intent frees only what it names: the handle that held the address,
// or (by address alone) an allocation no newer than the intent.
func TestIntentsApplyOnlyToTheirAllocation(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p", "10.1.0.0/24", 26)
	a := New(s, "n1")
	q, _ := OpenIntents("")
	a.SetIntents(q)
	ctx := testCtx(t)
	v4, _ := mustAuto(t, a, "old", 1, 0)
	x := v4[0]
	// The address was released and handed to "new" before the intent ran.
	if _, err := a.ReleaseIPs(ctx, x); err != nil {
		t.Fatal(err)
	}
	if err := a.AssignIP(ctx, x, "new", nil); err != nil {
		t.Fatal(err)
	}
	_ = q.Add(Intent{IP: x, Handle: "old", Before: time.Now()},
		Intent{IP: x, Before: time.Now().Add(-time.Hour)})
	if n, err := a.ApplyIntents(ctx); err != nil || n != 2 {
		t.Fatalf("ApplyIntents = %d, %v", n, err)
	}
	if ips, _ := a.IPsByHandle(ctx, "new"); len(ips) != 1 {
		t.Fatalf("an intent freed another holder's address: handle new holds %v", ips)
	}
	// A handle intent frees every address of that handle, once.
	mustAuto(t, a, "gone", 2, 0)
	_ = q.Add(Intent{Handle: "gone", Before: time.Now()}, Intent{Handle: "gone", Before: time.Now()})
	if _, err := a.ApplyIntents(ctx); err != nil {
		t.Fatal(err)
	}
	if ips, _ := a.IPsByHandle(ctx, "gone"); len(ips) != 0 || len(q.Pending()) != 0 {
		t.Fatalf("handle gone holds %v, pending %v", ips, q.Pending())
	}
}

// With etcd frozen, requests fail fast saying so; a release is recorded
// and applied after etcd answers; the allocator goes on with the block it
// had instead of claiming new ones.
func TestFrozenEtcdNoSprawlNoLostRelease(t *testing.T) {
	p := testenv.StartEtcdProcess(t)
	cli := p.Client()
	t.Cleanup(func() { _ = cli.Close() })
	s := datastore.New(cli)
	addPool(t, s, "p", "10.1.0.0/24", 26)
	a := New(s, "n1")
	q, _ := OpenIntents(filepath.Join(t.TempDir(), "intents.json"))
	a.SetIntents(q)
	ctx := testCtx(t)
	v4, _ := mustAuto(t, a, "keep", 2, 0)
	p.Stop()
	for i := range 3 {
		start := time.Now()
		_, _, err := a.AutoAssign(ctx, AutoAssignArgs{Handle: "during", Num4: 1})
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("attempt %d with etcd frozen: %v, want ErrUnavailable", i, err)
		}
		if d := time.Since(start); d > 3*DefaultCallTimeout {
			t.Errorf("attempt %d took %v", i, d)
		}
	}
	_, queued, err := a.ReleaseIPsDurably(ctx, v4[0])
	if err != nil || !queued {
		t.Fatalf("ReleaseIPsDurably with etcd frozen = queued %v, %v", queued, err)
	}
	p.Cont()
	if _, err := a.ApplyIntents(ctx); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		mustAuto(t, a, "after", 1, 0)
	}
	bs, err := a.Blocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 {
		t.Fatalf("%d blocks after etcd errors, want the one block reused", len(bs))
	}
	if ips, _ := a.IPsByHandle(ctx, "keep"); len(ips) != 1 || ips[0] != v4[1] {
		t.Fatalf("handle keep holds %v after its release of %s was applied", ips, v4[0])
	}
	if ips, _ := a.IPsByHandle(ctx, "during"); len(ips) != 0 {
		t.Fatalf("failed assignments left %v allocated", ips)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
