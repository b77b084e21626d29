package fleet

import (
	"context"
	"fmt"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// TestEtcdCountersCountRequests checks the measuring instrument: ten
// transactions through datastore.Commit show up in etcd's own metrics as
// ten Txn requests, with bytes both ways. It needs the etcd binary only.
func TestEtcdCountersCountRequests(t *testing.T) {
	m := startEtcd(t, 1)[0]
	s := storeOf(t, []string{m.clientURL()})
	ctx := context.Background()
	if _, _, err := s.ListKeys(ctx, "/warm-up/", true); err != nil {
		t.Fatal(err)
	}
	c0 := m.counters()
	for i := range 10 {
		k := fmt.Sprintf("/fleet-test/%d", i)
		if _, err := s.Commit(ctx, datastore.Txn{If: []datastore.Cond{datastore.Absent(k)}, Then: []datastore.Op{datastore.Put(k, []byte("v"))}}); err != nil {
			t.Fatal(err)
		}
	}
	d := m.counters().sub(c0)
	if d.ByMethod["Txn"] != 10 || d.Unary != 10 || d.BytesIn <= 0 || d.BytesOut <= 0 {
		t.Fatalf("10 transactions counted as %+v", d)
	}
}
