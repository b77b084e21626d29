package policy_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/flowlogs"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/flows"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestFlowLogsKernel: the seed's bookstore example with flow logs on, real
// packets between workloads in namespaces. The NFLOG records that arrive
// name, through felix's prefix table, the seed policy's Deny rule (1) for
// fruitstore → server and its Allow rule (0) for bookstore → server, with
// the exact tuple; conntrack counts the allowed connection; the flows
// collector fed by the real reader aggregates them into the rows the API
// serves.
func TestFlowLogsKernel(t *testing.T) {
	b := newBed(t, felix.Config{Policy: true, FlowLogs: true})
	reader, err := b.dp.OpenFlowLogs()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reader.Close)
	var mu sync.Mutex
	var got []flowlogs.Packet
	dir := flows.NewDirectory(nil)
	col := flows.NewCollector(flows.Config{Node: node, Rules: b.dp, Counters: reader, Directory: dir})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		_ = reader.Run(ctx, func(p flowlogs.Packet) {
			mu.Lock()
			got = append(got, p)
			mu.Unlock()
			col.Observe(p)
		})
	}()
	b.setPolicies("")
	b.put(decode(t, allowAll)...)
	b.addWorkload("bookstore-frontend", 5, []string{"calico"}, map[string]string{"biz_type": "bookstore"})
	b.addWorkload("bookstore-server", 6, []string{"calico"}, map[string]string{"biz_type": "bookstore", "role": "server"})
	b.addWorkload("fruitstore-frontend", 7, []string{"calico"}, map[string]string{"biz_type": "fruitstore"})
	b.setPolicies(seedPolicy)
	dir.OnSyncEvent(model.SyncEvent{Full: true, Updates: b.updates(storeObjects(b), false)})
	mu.Lock()
	got = nil // only what follows
	mu.Unlock()
	b.check(tcp("bookstore-frontend", "bookstore-server", 80, true), tcp("fruitstore-frontend", "bookstore-server", 80, false))

	want := map[string]rules.RuleID{ // by source workload: the ingress verdict at the server
		"bookstore-frontend":  {Kind: "NetworkPolicy", Namespace: "default", Name: seedName, Tier: "default", Rule: 0, Direction: "ingress", Action: "allow", Trigger: rules.TriggerRule},
		"fruitstore-frontend": {Kind: "NetworkPolicy", Namespace: "default", Name: seedName, Tier: "default", Rule: 1, Direction: "ingress", Action: "deny", Trigger: rules.TriggerRule},
	}
	server := b.addr("bookstore-server", false)
	testenv.Eventually(t, 5*time.Second, 50*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		for from, id := range want {
			if !hasRecord(b.dp, got, b.addr(from, false), server, id) {
				return fmt.Errorf("no NFLOG record %s -> server:80 naming %+v; got %+v", from, id, got)
			}
		}
		return nil
	})
	col.Close(time.Now())
	rows, _ := col.Ring().Query(flows.Filter{Limit: 100})
	var denied, allowed bool
	for _, r := range rows {
		if r.Reporter != "dst" || r.Policy.Name != seedName {
			continue
		}
		denied = denied || (r.Action == "deny" && r.Src.Name == "fruitstore-frontend" && r.Packets >= 1)
		// A delivered TCP connection: SYN, SYN-ACK, ACK, FIN... counted by conntrack.
		allowed = allowed || (r.Action == "allow" && r.Src.Name == "bookstore-frontend" && r.Packets >= 3 && r.Bytes > 0)
	}
	if !denied || !allowed {
		t.Fatalf("rows (denied %v, allowed with conntrack counts %v): %+v", denied, allowed, rows)
	}
}

const seedName = "allow-bookstore-cliient-to-server"

func hasRecord(dp *felix.Dataplane, got []flowlogs.Packet, src, dst interface{ String() string }, want rules.RuleID) bool {
	for _, p := range got {
		id, ok := dp.RuleID(p.Prefix)
		if ok && id == want && p.Src.String() == src.String() && p.Dst.String() == dst.String() && p.DstPort == 80 && p.Proto == 6 {
			return true
		}
	}
	return false
}

// storeObjects is what the bed's "datastore" holds.
func storeObjects(b *bed) []resources.Resource { return slices.Collect(maps.Values(b.store)) }
