package daemon

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestDatastoreReadyGate: with ClusterInformation datastoreReady false
// (real etcd, the cache, the real IPAM driver behind the gate), address
// and pool requests are refused saying why and what to do, while releases
// still work; true again lets requests through.
func TestDatastoreReadyGate(t *testing.T) {
	_, cli := testenv.StartEtcd(t)
	store := datastore.New(cli)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := ensureClusterInformation(ctx, store); err != nil {
		t.Fatal(err)
	}
	c := syncedCache(ctx, t, store, "host1")
	alloc := ipam.New(store, "host1")
	if err := alloc.EnsureDefaultPool(ctx, "10.66.0.0/16"); err != nil {
		t.Fatal(err)
	}
	h := readyGate(c)(newIPAMHandler(store, alloc, false))
	call := func(method, body string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/IpamDriver."+method, strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	pool := `{"AddressSpace": "` + ipamdriver.LocalAddressSpace + `", "Pool": "", "SubPool": "", "Options": {}, "V6": false}`
	if code, body := call("RequestPool", pool); code != http.StatusOK {
		t.Fatalf("ready: RequestPool %d %s", code, body)
	}
	setReady := func(ready bool) {
		ci, err := datastore.GetAs[*resources.ClusterInformation](ctx, store, "", "default")
		if err != nil {
			t.Fatal(err)
		}
		ci.Spec.DatastoreReady = &ready
		if _, err := store.Update(ctx, ci); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
			if datastoreReady(c) != ready {
				return context.DeadlineExceeded
			}
			return nil
		})
	}
	setReady(false)
	for _, m := range []string{"RequestPool", "RequestAddress"} {
		code, body := call(m, pool)
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "datastoreReady: false") || !strings.Contains(body, "set spec.datastoreReady") {
			t.Errorf("not ready: %s answered %d %s", m, code, body)
		}
	}
	if _, body := call("ReleaseAddress", `{"PoolID": "x", "Address": "10.66.0.1"}`); strings.Contains(body, "datastoreReady") {
		t.Errorf("a release was refused: %s", body)
	}
	setReady(true)
	if code, body := call("RequestPool", pool); code != http.StatusOK {
		t.Fatalf("ready again: RequestPool %d %s", code, body)
	}
}
