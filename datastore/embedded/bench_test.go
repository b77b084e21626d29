package embedded_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// churnCycles is one container's life in etcd writes, repeated: an IPAM
// assignment, its WorkloadEndpoint created and deleted, the address
// released — what `docker run --rm` costs the datastore.
const churnCycles = 6000

// BenchmarkEtcdChurn runs churnCycles container lives against the
// embedded etcd with its upkeep off (the old behaviour) and on (periodic
// compaction every second, defragmentation checked every second), and
// reports the database file and live data at the end; -v logs the size
// every 1000 cycles, which levels off with upkeep on.
func BenchmarkEtcdChurn(b *testing.B) {
	for _, tc := range []struct {
		name string
		m    embedded.Maintenance
	}{
		{"upkeep=off", embedded.Maintenance{CompactionRetention: 1000 * time.Hour, CheckInterval: 1000 * time.Hour}},
		{"upkeep=on", embedded.Maintenance{CompactionRetention: time.Second, CheckInterval: time.Second, DefragMinFree: 1 << 20}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				churn(b, tc.m)
			}
		})
	}
}

func churn(b *testing.B, m embedded.Maintenance) {
	e := testenv.StartSecureEtcd(b, m)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cli, err := datastore.Connect(ctx, datastore.EtcdConfig{Endpoints: e.Endpoints, CACertFile: e.Files.CA, CertFile: e.Files.Cert, KeyFile: e.Files.Key})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	store := datastore.New(cli)
	alloc := ipam.New(store, "bench-node")
	if err := alloc.EnsureDefaultPool(ctx, "10.64.0.0/16"); err != nil {
		b.Fatal(err)
	}
	var series []string
	start := time.Now()
	for i := range churnCycles {
		containerLife(ctx, b, store, alloc, i)
		if (i+1)%1000 == 0 {
			h := e.Server.Health()
			series = append(series, fmt.Sprintf("%d:%.2fMB", i+1, float64(h.DBSize)/1e6))
		}
	}
	elapsed := time.Since(start)
	time.Sleep(2500 * time.Millisecond) // one more upkeep round when on
	h := e.Server.Health()
	b.Logf("DB file after every 1000 cycles: %s; at the end %.2f MB (%.2f MB in use), revision %d",
		strings.Join(series, " "), float64(h.DBSize)/1e6, float64(h.DBSizeInUse)/1e6, h.Revision)
	b.ReportMetric(float64(h.DBSize)/1e6, "MB-db-file")
	b.ReportMetric(float64(h.DBSizeInUse)/1e6, "MB-db-in-use")
	b.ReportMetric(float64(elapsed.Microseconds())/churnCycles, "µs/cycle")
}

func containerLife(ctx context.Context, b *testing.B, store *datastore.Store, alloc *ipam.Allocator, i int) {
	handle := fmt.Sprintf("bench-%d", i)
	v4, _, err := alloc.AutoAssign(ctx, ipam.AutoAssignArgs{Handle: handle, Num4: 1})
	if err != nil {
		b.Fatalf("cycle %d: assign: %v", i, err)
	}
	w := resources.NewWorkloadEndpoint(fmt.Sprintf("bench--node-libnetwork-%d", i))
	w.Labels = map[string]string{"app": "bench", "run": fmt.Sprint(i)}
	w.Spec = resources.WorkloadEndpointSpec{Orchestrator: "libnetwork", Node: "bench-node", Endpoint: handle,
		IPNetworks: []string{v4[0].String() + "/32"}, InterfaceName: fmt.Sprintf("cali%011d", i), Profiles: []string{"bench"}}
	if _, err := store.Create(ctx, w); err != nil {
		b.Fatalf("cycle %d: create endpoint: %v", i, err)
	}
	if _, err := store.Delete(ctx, resources.KindWorkloadEndpoint, w.Namespace, w.Name, ""); err != nil {
		b.Fatalf("cycle %d: delete endpoint: %v", i, err)
	}
	if err := alloc.ReleaseByHandle(ctx, handle); err != nil {
		b.Fatalf("cycle %d: release: %v", i, err)
	}
}
