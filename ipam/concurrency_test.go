package ipam

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
)

// ledger checks that no address is ever held twice.
type ledger struct {
	t    *testing.T
	mu   sync.Mutex
	held map[netip.Addr]string
	ever map[string][]netip.Addr // node -> every address it was given
}

func newLedger(t *testing.T) *ledger {
	return &ledger{t: t, held: map[netip.Addr]string{}, ever: map[string][]netip.Addr{}}
}

func (l *ledger) take(node, who string, ips ...netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ip := range ips {
		if h, ok := l.held[ip]; ok {
			l.t.Errorf("DUPLICATE: %s given to %s while %s holds it", ip, who, h)
		}
		l.held[ip] = who
		l.ever[node] = append(l.ever[node], ip)
	}
}

// drop must be called before the release reaches etcd, so a reuse right
// after the release is not mistaken for a duplicate.
func (l *ledger) drop(ips ...netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ip := range ips {
		delete(l.held, ip)
	}
}

// worker runs ops random allocate/release operations with its own handles.
type worker struct {
	a        *Allocator
	id       string
	rng      *rand.Rand
	l        *ledger
	holdings map[string][]netip.Addr // handle -> addresses
	seq      int
}

func (w *worker) step(t *testing.T, maxHeld int) {
	ctx := testCtx(t)
	switch r := w.rng.IntN(10); {
	case len(w.holdings) < maxHeld && r < 6:
		w.seq++
		h := fmt.Sprintf("%s-%d", w.id, w.seq)
		v4, _, err := w.a.AutoAssign(ctx, AutoAssignArgs{Handle: h, Num4: 1 + w.rng.IntN(2)})
		if errors.Is(err, ErrExhausted) {
			return
		}
		if err != nil {
			t.Errorf("%s AutoAssign: %v", w.id, err)
			return
		}
		w.l.take(w.a.Node(), h, v4...)
		w.holdings[h] = v4
	case len(w.holdings) > 0:
		w.release(t, r%2 == 0)
	}
}

func (w *worker) release(t *testing.T, byHandle bool) {
	ctx := testCtx(t)
	for h, ips := range w.holdings {
		w.l.drop(ips...)
		delete(w.holdings, h)
		if byHandle {
			if err := w.a.ReleaseByHandle(ctx, h); err != nil {
				t.Errorf("%s ReleaseByHandle(%s): %v", w.id, h, err)
			}
			return
		}
		if nots, err := w.a.ReleaseIPs(ctx, ips...); err != nil || len(nots) != 0 {
			t.Errorf("%s ReleaseIPs(%v) = %v, %v", w.id, ips, nots, err)
		}
		return
	}
}

func (w *worker) releaseAll(t *testing.T) {
	for len(w.holdings) > 0 {
		w.release(t, false)
	}
}

// runWorkers runs hosts x perHost workers for ops steps each; shared
// chooses one Allocator per host (shared cache) or one per worker.
func runWorkers(t *testing.T, hosts, perHost, ops, maxHeld int, shared bool, newAlloc func(node string) *Allocator) *ledger {
	l := newLedger(t)
	var wg sync.WaitGroup
	for h := range hosts {
		node := fmt.Sprintf("host%d", h+1)
		a := newAlloc(node)
		for g := range perHost {
			if !shared {
				a = newAlloc(node)
			}
			w := &worker{a: a, id: fmt.Sprintf("%s-g%d", node, g), rng: rand.New(rand.NewPCG(uint64(h), uint64(g))), l: l, holdings: map[string][]netip.Addr{}}
			wg.Go(func() {
				for range ops {
					w.step(t, maxHeld)
				}
				w.releaseAll(t)
			})
		}
	}
	wg.Wait()
	return l
}

// TestConcurrentHostsAllocateFromOwnBlocks: 2 hosts x 8 goroutines,
// thousands of operations, a pool that is never exhausted.
func TestConcurrentHostsAllocateFromOwnBlocks(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "p", "10.50.0.0/22", 26)
	ops := 150
	if testing.Short() {
		ops = 40
	}
	l := runWorkers(t, 2, 8, ops, 8, true, func(node string) *Allocator { return New(s, node) })
	a := New(s, "checker")
	if n := totalAllocated(t, a); n != 0 {
		t.Errorf("%d addresses leaked", n)
	}
	if hs, _ := a.Handles(testCtx(t)); len(hs) != 0 {
		t.Errorf("%d handles leaked: %+v", len(hs), hs[0])
	}
	blocks, err := a.Blocks(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for node, ips := range l.ever {
		total += len(ips)
		for _, x := range ips {
			for _, b := range blocks {
				if b.CIDR.Contains(x) && b.Affinity != node {
					t.Fatalf("%s got %s from block %s of %q although the pool had free blocks", node, x, b.CIDR, b.Affinity)
				}
			}
		}
	}
	t.Logf("%d addresses handed out over %d blocks", total, len(blocks))
}

// TestConcurrentTinyPoolContention: a /28 pool of /30 blocks, 16
// Allocators without a shared cache on 2 hosts: heavy compare-and-swap
// contention, borrowing and exhaustion, still never a duplicate.
func TestConcurrentTinyPoolContention(t *testing.T) {
	s := newStore(t)
	addPool(t, s, "tiny", "10.60.0.0/28", 30)
	ops := 80
	if testing.Short() {
		ops = 20
	}
	l := runWorkers(t, 2, 8, ops, 2, false, func(node string) *Allocator { return New(s, node) })
	a := New(s, "checker")
	if n := totalAllocated(t, a); n != 0 {
		t.Errorf("%d addresses leaked", n)
	}
	if hs, _ := a.Handles(testCtx(t)); len(hs) != 0 {
		t.Errorf("%d handles leaked", len(hs))
	}
	blocks, _ := a.Blocks(testCtx(t))
	owners := map[string]int{}
	for _, b := range blocks {
		owners[b.Affinity]++
	}
	if len(blocks) != 4 || owners[""] != 0 {
		t.Errorf("blocks %d, owners %v: want all 4 blocks claimed", len(blocks), owners)
	}
	t.Logf("handed out host1=%d host2=%d; block owners %v", len(l.ever["host1"]), len(l.ever["host2"]), owners)
}
