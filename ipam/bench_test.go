package ipam

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// The benchmarks share one etcd configured as the daemon's embedded etcd
// (fsync on), so BenchmarkAutoAssign and BenchmarkRawEtcdTxn measure the
// same server in the same run. CALICO_BENCH_NOFSYNC=1 turns fsync off, to
// see the allocator's CPU overhead instead of the disk.
var bench struct {
	once sync.Once
	etcd *embed.Etcd
	cli  *clientv3.Client
	err  error
}

func TestMain(m *testing.M) {
	slog.SetLogLoggerLevel(slog.LevelWarn) // "claimed block" lines would garble benchmark output
	code := m.Run()
	if bench.etcd != nil {
		bench.cli.Close()
		bench.etcd.Close()
		os.RemoveAll(bench.etcd.Config().Dir)
	}
	os.Exit(code)
}

func benchEtcd(b *testing.B) *clientv3.Client {
	bench.once.Do(func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			bench.err = err
			return
		}
		l2, _ := net.Listen("tcp", "127.0.0.1:0")
		cu := url.URL{Scheme: "http", Host: l.Addr().String()}
		pu := url.URL{Scheme: "http", Host: l2.Addr().String()}
		l.Close()
		l2.Close()
		dir, _ := os.MkdirTemp("", "ipam-bench-etcd-")
		cfg := embed.NewConfig()
		cfg.Dir, cfg.Name = dir, "bench"
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.UnsafeNoFsync = os.Getenv("CALICO_BENCH_NOFSYNC") == "1"
		if bench.etcd, bench.err = embed.StartEtcd(cfg); bench.err != nil {
			return
		}
		select {
		case <-bench.etcd.Server.ReadyNotify():
		case <-time.After(30 * time.Second):
			bench.err = fmt.Errorf("bench etcd not ready")
			return
		}
		bench.cli, bench.err = clientv3.New(clientv3.Config{Endpoints: []string{cu.String()}, Logger: zap.NewNop()})
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.cli
}

// resetBench clears IPAM state and pools between runs.
func resetBench(b *testing.B, cli *clientv3.Client) {
	b.Helper()
	if _, err := cli.Delete(context.Background(), "/calico/", clientv3.WithPrefix()); err != nil {
		b.Fatal(err)
	}
}

// runHosts runs fn(host, n) on hosts goroutines splitting b.N between them.
func runHosts(b *testing.B, hosts int, fn func(host, n int)) {
	var wg sync.WaitGroup
	for h := range hosts {
		n := b.N / hosts
		if h < b.N%hosts {
			n++
		}
		wg.Go(func() { fn(h, n) })
	}
	wg.Wait()
}

// BenchmarkAutoAssign: one address per op from a /12 pool of /26 blocks,
// each host (Allocator) allocating serially.
func BenchmarkAutoAssign(b *testing.B) {
	cli := benchEtcd(b)
	for _, hosts := range []int{1, 4} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			resetBench(b, cli)
			s := datastore.New(cli)
			addPool(b, s, "bench", "10.128.0.0/12", 26)
			allocs := make([]*Allocator, hosts)
			for h := range allocs {
				allocs[h] = newDaemonAllocator(s, fmt.Sprintf("bench-host%d", h))
			}
			ctx := context.Background()
			b.ResetTimer()
			runHosts(b, hosts, func(h, n int) {
				for i := range n {
					if _, _, err := allocs[h].AutoAssign(ctx, AutoAssignArgs{Handle: fmt.Sprintf("h%d-%d", h, i), Num4: 1}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "allocs/s")
		})
	}
}

// rawTxn issues, directly, the transaction an allocation makes: compare
// the block's and the pool's revisions, put a half-full /26 block (one
// attribute per address, as real blocks have) and one handle key.
type rawTxn struct {
	cli          *clientv3.Client
	val, poolKey string
	poolRev      int64
	key          []string // per host: its own block key
	rev          []int64
	seq          []int
}

func newRawTxn(b *testing.B, cli *clientv3.Client, hosts int) *rawTxn {
	ctx := context.Background()
	blk := newBlock(netip.MustParsePrefix("10.0.0.0/26"), "bench-host0")
	for i := range 32 {
		blk.allocate(1, newAttribute(fmt.Sprintf("h0-%d", i), map[string]string{AttrNode: "bench-host0", AttrTimestamp: time.Now().UTC().Format(time.RFC3339)}))
	}
	val, err := blk.encode()
	if err != nil {
		b.Fatal(err)
	}
	r := &rawTxn{cli: cli, val: string(val), poolKey: "/calico/bench/raw-pool"}
	pr, err := cli.Put(ctx, r.poolKey, "{}")
	if err != nil {
		b.Fatal(err)
	}
	r.poolRev = pr.Header.Revision
	for h := range hosts {
		key := fmt.Sprintf("/calico/ipam/v2/assignment/ipv4/block/10.0.%d.0-26", h)
		put, err := cli.Put(ctx, key, r.val)
		if err != nil {
			b.Fatal(err)
		}
		r.key, r.rev, r.seq = append(r.key, key), append(r.rev, put.Header.Revision), append(r.seq, 0)
	}
	return r
}

func (r *rawTxn) run(ctx context.Context, h int) error {
	r.seq[h]++
	key := r.key[h]
	resp, err := r.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.ModRevision(key), "=", r.rev[h]),
		clientv3.Compare(clientv3.ModRevision(r.poolKey), "=", r.poolRev),
	).Then(
		clientv3.OpPut(key, r.val),
		clientv3.OpPut(fmt.Sprintf("/calico/ipam/v2/handle/raw%d-%d/10.0.%d.1", h, r.seq[h], h), `{"block":"10.0.0.0/26"}`),
	).Else(clientv3.OpGet(key), clientv3.OpGet(r.poolKey, clientv3.WithKeysOnly())).Commit()
	if err != nil {
		return err
	}
	if !resp.Succeeded {
		return fmt.Errorf("raw txn on %s failed its compare", key)
	}
	r.rev[h] = resp.Header.Revision
	return nil
}

// BenchmarkRawEtcdTxn is the baseline for BenchmarkAutoAssign: the same
// transaction issued directly, each host on its own block.
func BenchmarkRawEtcdTxn(b *testing.B) {
	cli := benchEtcd(b)
	for _, hosts := range []int{1, 4} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			resetBench(b, cli)
			r := newRawTxn(b, cli, hosts)
			ctx := context.Background()
			b.ResetTimer()
			runHosts(b, hosts, func(h, n int) {
				for range n {
					if err := r.run(ctx, h); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txns/s")
		})
	}
}

// BenchmarkAutoAssignVsRaw alternates batches of allocations and raw
// transactions on the same etcd and reports both rates and their ratio,
// which stays meaningful on a machine whose speed drifts during the run.
func BenchmarkAutoAssignVsRaw(b *testing.B) {
	cli := benchEtcd(b)
	const batch = 40
	for _, hosts := range []int{1, 4} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			resetBench(b, cli)
			s := datastore.New(cli)
			addPool(b, s, "bench", "10.128.0.0/12", 26)
			allocs := make([]*Allocator, hosts)
			for h := range allocs {
				allocs[h] = newDaemonAllocator(s, fmt.Sprintf("bench-host%d", h))
			}
			r := newRawTxn(b, cli, hosts)
			ctx := context.Background()
			var tAlloc, tRaw time.Duration
			seq := make([]int, hosts)
			b.ResetTimer()
			for done := 0; done < b.N; done += batch * hosts {
				st := time.Now()
				parallel(hosts, func(h int) {
					for range batch {
						seq[h]++
						if _, _, err := allocs[h].AutoAssign(ctx, AutoAssignArgs{Handle: fmt.Sprintf("h%d-%d", h, seq[h]), Num4: 1}); err != nil {
							b.Error(err)
							return
						}
					}
				})
				tAlloc += time.Since(st)
				st = time.Now()
				parallel(hosts, func(h int) {
					for range batch {
						if err := r.run(ctx, h); err != nil {
							b.Error(err)
							return
						}
					}
				})
				tRaw += time.Since(st)
			}
			b.StopTimer()
			ops := float64((b.N + batch*hosts - 1) / (batch * hosts) * batch * hosts)
			b.ReportMetric(ops/tAlloc.Seconds(), "allocs/s")
			b.ReportMetric(ops/tRaw.Seconds(), "raw-txns/s")
			b.ReportMetric(tRaw.Seconds()/tAlloc.Seconds(), "ratio")
		})
	}
}

func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	wg.Wait()
}

// newDaemonAllocator is an Allocator as the daemon makes it: reservations
// come from its cache (here: none), not from an etcd list per call.
func newDaemonAllocator(s *datastore.Store, node string) *Allocator {
	a := New(s, node)
	a.UseReservations(func() []*resources.IPReservation { return nil })
	return a
}
