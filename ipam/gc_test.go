package ipam

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// gcBed is one node's allocator with a controllable clock, a GC whose
// live set the test edits, and collectable handles "prov-*" and "ep-*".
type gcBed struct {
	t     *testing.T
	a     *Allocator
	now   time.Time
	live  Holders
	gc    *GC
	hook  func() // runs inside Holders, after the blocks were read
	grace time.Duration
}

func newGCBed(t *testing.T, grace time.Duration) *gcBed {
	s := newStore(t)
	addPool(t, s, "p1", "10.20.0.0/24", 26)
	b := &gcBed{t: t, a: New(s, "host1"), now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC), grace: grace,
		live: Holders{IPs: map[netip.Addr]bool{}, Handles: map[string]bool{}}}
	b.a.now = func() time.Time { return b.now }
	gc, err := b.a.NewGC(GCConfig{
		Grace:       grace,
		Collectable: func(h string) bool { return strings.HasPrefix(h, "prov-") || strings.HasPrefix(h, "ep-") },
		Holders: func(context.Context) (Holders, error) {
			if b.hook != nil {
				b.hook()
			}
			return b.live, nil
		},
		Now: func() time.Time { return b.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	b.gc = gc
	return b
}

func (b *gcBed) alloc(a *Allocator, handle string) netip.Addr {
	b.t.Helper()
	v4, _, err := a.AutoAssign(testCtx(b.t), AutoAssignArgs{Handle: handle, Num4: 1})
	if err != nil {
		b.t.Fatal(err)
	}
	return v4[0]
}

// round runs the GC and returns the handles it freed, sorted.
func (b *gcBed) round() []string {
	b.t.Helper()
	freed, err := b.gc.Run(testCtx(b.t))
	if err != nil {
		b.t.Fatal(err)
	}
	var hs []string
	for _, f := range freed {
		hs = append(hs, f.Handle)
	}
	slices.Sort(hs)
	return hs
}

func (b *gcBed) holder(ip netip.Addr) string {
	b.t.Helper()
	blocks, err := b.a.Blocks(testCtx(b.t))
	if err != nil {
		b.t.Fatal(err)
	}
	for _, bl := range blocks {
		for _, al := range bl.Allocations {
			if al.IP == ip {
				return al.Handle
			}
		}
	}
	return ""
}

func TestGCFreesOnlyOldDeadCollectableAllocations(t *testing.T) {
	b := newGCBed(t, 10*time.Minute)
	start := b.now
	provOld := b.alloc(b.a, "prov-old")
	epGone := b.alloc(b.a, "ep-gone")
	epLiveByIP := b.alloc(b.a, "ep-live-ip")
	epLiveByHandle := b.alloc(b.a, "ep-live-handle")
	operator := b.alloc(b.a, "calicoctl-reserved") // not collectable
	other := b.alloc(New(b.a.store, "host2"), "prov-host2")
	b.live.IPs[epLiveByIP] = true
	b.live.Handles["ep-live-handle"] = true
	b.now = start.Add(9 * time.Minute)
	provNew := b.alloc(b.a, "prov-new")

	if got := b.round(); len(got) != 0 {
		t.Fatalf("first round freed %v; a handle is never freed the first time it is seen dead", got)
	}
	b.now = start.Add(11 * time.Minute)
	if got, want := b.round(), []string{"ep-gone", "prov-old"}; !slices.Equal(got, want) {
		t.Fatalf("second round freed %v, want %v", got, want)
	}
	for ip, want := range map[netip.Addr]string{provOld: "", epGone: "", epLiveByIP: "ep-live-ip", epLiveByHandle: "ep-live-handle",
		operator: "calicoctl-reserved", other: "prov-host2", provNew: "prov-new"} {
		if got := b.holder(ip); got != want {
			t.Errorf("%s held by %q, want %q", ip, got, want)
		}
	}
	b.now = start.Add(20 * time.Minute) // prov-new is old enough now
	if got := b.round(); !slices.Equal(got, []string{"prov-new"}) {
		t.Fatalf("third round freed %v, want prov-new", got)
	}
}

// TestGCSuspectRevived: a handle seen dead once, then live, then dead
// again starts over: it needs two dead rounds in a row.
func TestGCSuspectRevived(t *testing.T) {
	b := newGCBed(t, 0)
	ip := b.alloc(b.a, "ep-flap")
	b.now = b.now.Add(2 * time.Second) // timestamps count as the end of their second
	b.round()                          // suspect
	b.live.IPs[ip] = true
	b.round() // live: forgotten as a suspect
	delete(b.live.IPs, ip)
	if got := b.round(); len(got) != 0 {
		t.Fatalf("freed %v right after it was live", got)
	}
	if got := b.round(); !slices.Equal(got, []string{"ep-flap"}) {
		t.Fatalf("freed %v, want ep-flap", got)
	}
}

// TestGCLeavesReownedAddress: an address re-owned between the GC's read
// of the blocks and its release (a provisional address claimed by its
// endpoint) is not freed, even with no grace at all.
func TestGCLeavesReownedAddress(t *testing.T) {
	b := newGCBed(t, 0)
	ip := b.alloc(b.a, "prov-race")
	b.now = b.now.Add(2 * time.Second)
	b.round() // suspect
	b.hook = func() {
		if err := b.a.SetHandle(testCtx(t), ip, "ep-claimed", nil); err != nil {
			t.Error(err)
		}
	}
	if got := b.round(); len(got) != 0 {
		t.Fatalf("freed %v although the address was re-owned meanwhile", got)
	}
	if h := b.holder(ip); h != "ep-claimed" {
		t.Fatalf("address held by %q, want ep-claimed", h)
	}
}

// TestGCUndatedAllocation counts an allocation without a timestamp from
// when the GC first saw it.
func TestGCUndatedAllocation(t *testing.T) {
	b := newGCBed(t, 10*time.Minute)
	ip := ip("10.20.0.9")
	if err := b.a.AssignIP(testCtx(t), ip, "prov-undated", map[string]string{AttrTimestamp: "unknown"}); err != nil {
		t.Fatal(err)
	}
	b.round()
	b.now = b.now.Add(5 * time.Minute)
	if got := b.round(); len(got) != 0 {
		t.Fatalf("freed %v 5 minutes after first seeing it", got)
	}
	b.now = b.now.Add(6 * time.Minute)
	if got := b.round(); !slices.Equal(got, []string{"prov-undated"}) {
		t.Fatalf("freed %v, want prov-undated", got)
	}
}

// TestGCTimestampRoundsUp: an allocation stamped 12:00:00 may have been
// made at 12:00:00.999, so with a 1s grace it is not freed before 12:00:02.
func TestGCTimestampRoundsUp(t *testing.T) {
	b := newGCBed(t, time.Second)
	b.alloc(b.a, "prov-young")
	b.round()
	b.now = b.now.Add(1500 * time.Millisecond)
	if got := b.round(); len(got) != 0 {
		t.Fatalf("freed %v although it may be only 0.5s old", got)
	}
	b.now = b.now.Add(time.Second)
	if got := b.round(); !slices.Equal(got, []string{"prov-young"}) {
		t.Fatalf("freed %v, want prov-young", got)
	}
}

func TestNewGCValidates(t *testing.T) {
	a := New(newStore(t), "host1")
	if _, err := a.NewGC(GCConfig{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewGC without callbacks: %v", err)
	}
}
