package datastore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// The differential tests: a real etcd, the real syncer, the real cache.
// A seeded random stream of writes goes to etcd; then the cache (and a
// subscriber's mirror of it) must equal a fresh read of etcd, and every
// index answer must equal a brute-force filter of the cache's objects.

const (
	testNode  = "host1"
	converged = 20 * time.Second
)

var (
	testNodes    = []string{"host1", "host2", "host3"}
	testNetworks = []string{"netA", "netB", "netC"}
	testSandbox  = []string{"", "/var/run/docker/netns/s1", "/var/run/docker/netns/s2"}
)

// harness is a syncer feeding a cache, with a subscriber mirroring it.
type harness struct {
	s      *Store
	c      *cache.Cache
	stop   context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	mirror map[model.Key]model.Update
	fulls  int
}

func newHarness(t *testing.T, s *Store) *harness {
	h := &harness{s: s, c: cache.New(cache.Config{Node: testNode}), mirror: map[model.Key]model.Update{}}
	kinds := []string{resources.KindWorkloadEndpoint, resources.KindProfile, resources.KindNetworkPolicy,
		resources.KindGlobalNetworkPolicy, model.KindBlock, model.KindAffinity}
	cancel := h.c.Subscribe("mirror", kinds, h.onEvent)
	t.Cleanup(cancel)
	h.start(t, s.NewSyncer(SyncerConfig{}))
	return h
}

func (h *harness) start(t *testing.T, y *Syncer) {
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan struct{})
	go func() { _ = y.Run(ctx, h.c.Apply); close(h.done) }()
	t.Cleanup(func() { cancel(); <-h.done })
}

func (h *harness) onEvent(ev model.SyncEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ev.Full {
		h.fulls++
		clear(h.mirror)
	}
	for _, u := range ev.Updates {
		if u.Deleted() {
			delete(h.mirror, u.Key())
		} else {
			h.mirror[u.Key()] = u
		}
	}
}

// randomWrite makes one random create, update or delete.
func randomWrite(ctx context.Context, t *testing.T, s *Store, r *rand.Rand, seq int) {
	t.Helper()
	var err error
	del := r.IntN(4) == 0
	switch r.IntN(6) {
	case 0, 1:
		name := fmt.Sprintf("%s-libnetwork-libnetwork-ep%02d", testNodes[r.IntN(3)], r.IntN(40))
		if del {
			_, err = s.Delete(ctx, resources.KindWorkloadEndpoint, "", name, "")
			break
		}
		w := resources.NewWorkloadEndpoint(name)
		w.Labels = map[string]string{"seq": fmt.Sprint(seq), "app": fmt.Sprint(r.IntN(3))}
		w.Annotations = map[string]string{model.AnnotationSandbox: testSandbox[r.IntN(3)]}
		w.Spec = resources.WorkloadEndpointSpec{Node: name[:5], InterfaceName: fmt.Sprintf("cali%d", seq%1000),
			IPNetworks: []string{fmt.Sprintf("10.1.%d.%d/32", r.IntN(4), r.IntN(250))}, Network: testNetworks[r.IntN(3)],
			Endpoint: fmt.Sprintf("e%d", seq)}
		_, err = s.Apply(ctx, w)
	case 2:
		name := fmt.Sprintf("prof%d", r.IntN(6))
		if del {
			_, err = s.Delete(ctx, resources.KindProfile, "", name, "")
			break
		}
		p := resources.NewProfile(name)
		p.Labels = map[string]string{"seq": fmt.Sprint(seq)}
		_, err = s.Apply(ctx, p)
	case 3:
		name := fmt.Sprintf("pol%d", r.IntN(6))
		kind := []string{resources.KindNetworkPolicy, resources.KindGlobalNetworkPolicy}[r.IntN(2)]
		if del {
			_, err = s.Delete(ctx, kind, "", name, "")
			break
		}
		var p resources.Resource = resources.NewNetworkPolicy(name)
		if kind == resources.KindGlobalNetworkPolicy {
			p = resources.NewGlobalNetworkPolicy(name)
		}
		p.Meta().Labels = map[string]string{"seq": fmt.Sprint(seq)}
		_, err = s.Apply(ctx, p)
	case 4:
		cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(64 * r.IntN(4))}), 26)
		key := BlockPrefix + "ipv4/block/" + cidrKey(cidr)
		op := Put(key, blockJSON(cidr, testNodes[r.IntN(3)], r, seq))
		if del {
			op = Del(key)
		}
		_, err = s.Commit(ctx, Txn{Then: []Op{op}})
	case 5:
		cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(64 * r.IntN(4))}), 26)
		key := AffinityPrefix + testNodes[r.IntN(3)] + "/ipv4/block/" + cidrKey(cidr)
		op := Put(key, []byte(`{"state":"confirmed","deleted":false}`))
		if del {
			op = Del(key)
		}
		_, err = s.Commit(ctx, Txn{Then: []Op{op}})
	}
	if err != nil && !isNotFound(err) {
		t.Fatalf("write %d: %v", seq, err)
	}
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

func cidrKey(p netip.Prefix) string { return fmt.Sprintf("%s-%d", p.Addr(), p.Bits()) }

// blockJSON is a block in Calico's stored format with a few random
// allocations (some sharing one attribute entry).
func blockJSON(cidr netip.Prefix, node string, r *rand.Rand, seq int) []byte {
	allocs := make([]string, 64)
	for i := range allocs {
		allocs[i] = "null"
	}
	for range r.IntN(5) {
		allocs[r.IntN(64)] = fmt.Sprint(r.IntN(2))
	}
	return fmt.Appendf(nil, `{"cidr":%q,"affinity":"host:%s","strictAffinity":false,"allocations":[%s],"unallocated":[],`+
		`"attributes":[{"handle_id":"h%d","secondary":{"node":%q}},{"handle_id":"g%d","secondary":{"node":"host2","timestamp":"2026-12-06T00:00:00Z"}}],"deleted":false}`,
		cidr.String(), node, strings.Join(allocs, ","), seq, node, seq)
}

// diff compares the cache (and the mirror) with a fresh read of etcd and
// the indexes with brute force; "" when all agree.
func (h *harness) diff(ctx context.Context) string {
	want := map[model.Key]int64{} // object -> revision, from etcd
	for _, kind := range []string{resources.KindWorkloadEndpoint, resources.KindProfile, resources.KindNetworkPolicy, resources.KindGlobalNetworkPolicy} {
		objs, _, err := h.s.List(ctx, kind, "")
		if err != nil {
			return err.Error()
		}
		for _, o := range objs {
			u := model.UpdateOf(o)
			want[u.Key()] = u.Revision
		}
	}
	blocks, _, err := h.s.ListKeys(ctx, BlockPrefix, false)
	if err != nil {
		return err.Error()
	}
	wantBlocks := map[netip.Prefix]*model.Block{}
	for _, kv := range blocks {
		b, err := model.DecodeBlock(kv.Value)
		if err != nil {
			return err.Error()
		}
		wantBlocks[b.CIDR] = b
		want[model.Key{Kind: model.KindBlock, Name: b.CIDR.String()}] = kv.ModRevision
	}
	affs, _, err := h.s.ListKeys(ctx, AffinityPrefix, true)
	if err != nil {
		return err.Error()
	}
	wantAffine := map[string][]netip.Prefix{}
	for _, kv := range affs {
		u, _, _ := decodeIPAM(kv.Key, nil, kv.ModRevision, true)
		want[u.Key()] = kv.ModRevision
		wantAffine[u.Namespace] = append(wantAffine[u.Namespace], netip.MustParsePrefix(u.Name))
	}
	got := map[model.Key]int64{}
	var weps []*resources.WorkloadEndpoint
	for _, kind := range []string{resources.KindWorkloadEndpoint, resources.KindProfile, resources.KindNetworkPolicy, resources.KindGlobalNetworkPolicy} {
		for _, o := range h.c.Resources(kind) {
			u := model.UpdateOf(o)
			got[u.Key()] = u.Revision
			if w, ok := o.(*resources.WorkloadEndpoint); ok {
				weps = append(weps, w)
			}
		}
	}
	for _, b := range h.c.Blocks() {
		if !reflect.DeepEqual(b, wantBlocks[b.CIDR]) {
			return fmt.Sprintf("block %s = %+v, etcd has %+v", b.CIDR, b, wantBlocks[b.CIDR])
		}
	}
	for k, rev := range want {
		if k.Kind == model.KindBlock || k.Kind == model.KindAffinity {
			got[k] = rev // compared by value above and below
		}
	}
	if len(h.c.Blocks()) != len(wantBlocks) {
		return fmt.Sprintf("cache holds %d blocks, etcd %d", len(h.c.Blocks()), len(wantBlocks))
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("cache differs from etcd:\n got  %v\n want %v", got, want)
	}
	for _, n := range testNodes {
		b := wantAffine[n]
		slices.SortFunc(b, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
		if a := h.c.BlocksAffineTo(n); len(a)+len(b) > 0 && !slices.Equal(a, b) {
			return fmt.Sprintf("BlocksAffineTo(%s) = %v, etcd has %v", n, a, b)
		}
	}
	if d := h.indexDiff(weps); d != "" {
		return d
	}
	return h.mirrorDiff(want)
}

// indexDiff checks every index answer against a filter of all endpoints.
func (h *harness) indexDiff(weps []*resources.WorkloadEndpoint) string {
	filter := func(keep func(*resources.WorkloadEndpoint) bool) []string {
		var out []string
		for _, w := range weps {
			if keep(w) {
				out = append(out, w.Name)
			}
		}
		slices.Sort(out)
		return out
	}
	names := func(ws []*resources.WorkloadEndpoint) []string {
		var out []string
		for _, w := range ws {
			out = append(out, w.Name)
		}
		return out
	}
	for _, n := range testNodes {
		if a, b := names(h.c.EndpointsOfNode(n)), filter(func(w *resources.WorkloadEndpoint) bool { return w.Spec.Node == n }); !slices.Equal(a, b) {
			return fmt.Sprintf("EndpointsOfNode(%s) = %v, want %v", n, a, b)
		}
	}
	for _, n := range testNetworks {
		if a, b := names(h.c.EndpointsOfNetwork(n)), filter(func(w *resources.WorkloadEndpoint) bool { return w.Spec.Network == n }); !slices.Equal(a, b) {
			return fmt.Sprintf("EndpointsOfNetwork(%s) = %v, want %v", n, a, b)
		}
	}
	for _, sb := range testSandbox[1:] {
		a := names(h.c.EndpointsOfSandbox(sb))
		b := filter(func(w *resources.WorkloadEndpoint) bool {
			return w.Spec.Node == testNode && w.Annotations[model.AnnotationSandbox] == sb
		})
		if !slices.Equal(a, b) {
			return fmt.Sprintf("EndpointsOfSandbox(%s) = %v, want %v", sb, a, b)
		}
	}
	return ""
}

// mirrorDiff checks the subscriber's mirror holds exactly want.
func (h *harness) mirrorDiff(want map[model.Key]int64) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	got := map[model.Key]int64{}
	for k, u := range h.mirror {
		got[k] = u.Revision
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("subscriber's mirror differs from etcd:\n got  %v\n want %v", got, want)
	}
	if h.fulls != 1 {
		return fmt.Sprintf("subscriber saw %d Full events, want exactly 1", h.fulls)
	}
	return ""
}

func (h *harness) waitConverged(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, converged, 20*time.Millisecond, func() error {
		if d := h.diff(ctx); d != "" {
			return errors.New(d)
		}
		return nil
	})
}

func writeStream(t *testing.T, s *Store, seed uint64, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range n {
		randomWrite(ctx, t, s, r, int(seed)*10000+i)
	}
}

func TestSyncerCacheDifferential(t *testing.T) {
	s := newStore(t)
	writeStream(t, s, 1, 100) // state before the syncer starts: the first list
	h := newHarness(t, s)
	writeStream(t, s, 2, 400) // the watch
	h.waitConverged(t)
}

// TestSyncerCompactionRelist compacts etcd past the revision the watch
// starts from, with deletes and creates in between: the watch fails, the
// key spaces are listed again, and the cache's diff must deliver the
// deletes (subscribers see no second Full event).
func TestSyncerCompactionRelist(t *testing.T) {
	s := newStore(t)
	writeStream(t, s, 3, 150)
	var once sync.Once
	y := s.NewSyncer(SyncerConfig{})
	compacted := make(chan struct{})
	y.beforeWatch = func(space string, rev int64) {
		if space != "resources" {
			return
		}
		once.Do(func() {
			ctx := context.Background()
			writeStream(t, s, 4, 150) // includes deletes of listed objects
			resp, err := s.cli.Get(ctx, "/")
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := s.cli.Compact(ctx, resp.Header.Revision); err != nil {
				t.Error(err)
			}
			close(compacted)
		})
	}
	h := &harness{s: s, c: cache.New(cache.Config{Node: testNode}), mirror: map[model.Key]model.Update{}}
	cancel := h.c.Subscribe("mirror", []string{resources.KindWorkloadEndpoint, resources.KindProfile, resources.KindNetworkPolicy,
		resources.KindGlobalNetworkPolicy, model.KindBlock, model.KindAffinity}, h.onEvent)
	defer cancel()
	h.start(t, y)
	select {
	case <-compacted:
	case <-time.After(converged):
		t.Fatal("the syncer never reached its watch")
	}
	h.waitConverged(t)
	writeStream(t, s, 5, 100) // and the new watch follows
	h.waitConverged(t)
}

// TestSyncerRestartResync stops the syncer, changes etcd, and starts a
// new syncer into the same cache: it converges, deletes included.
func TestSyncerRestartResync(t *testing.T) {
	s := newStore(t)
	h := newHarness(t, s)
	writeStream(t, s, 6, 200)
	h.waitConverged(t)
	h.stop()
	<-h.done
	writeStream(t, s, 7, 200)
	h.start(t, s.NewSyncer(SyncerConfig{}))
	h.waitConverged(t)
}
