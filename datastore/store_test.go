package datastore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// newStore starts a real embedded etcd for one test.
func newStore(t *testing.T) *Store {
	t.Helper()
	endpoints, _ := testenv.StartEtcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := Connect(ctx, EtcdConfig{Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return New(cli)
}

func pool(name, cidr string) *resources.IPPool {
	p := resources.NewIPPool(name)
	p.Spec.CIDR = cidr
	return p
}

func dump(t *testing.T, s *Store) map[string]string {
	t.Helper()
	resp, err := s.Client().Get(context.Background(), Prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = string(kv.Value)
	}
	return out
}

func TestCRUD(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	created, err := s.Create(ctx, pool("p1", "10.1.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
	if created.Meta().ResourceVersion == "" || created.Meta().CreationTimestamp == nil {
		t.Fatalf("create did not set version/timestamp: %+v", created.Meta())
	}
	if _, err := s.Create(ctx, pool("p1", "10.1.0.0/16")); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("second create: %v, want ErrAlreadyExists", err)
	}
	got, err := GetAs[*resources.IPPool](ctx, s, "", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.BlockSize != 26 || got.Spec.CIDR != "10.1.0.0/16" {
		t.Fatalf("got %+v", got.Spec)
	}
	// CAS: an update with a stale version fails, with the current one succeeds.
	stale := *got
	got.Spec.NATOutgoing = true
	if _, err := s.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	stale.Spec.Disabled = true
	if _, err := s.Update(ctx, &stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if _, err := s.Update(ctx, pool("nope", "10.2.0.0/16")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update missing: %v, want ErrNotFound", err)
	}
	if _, err := s.Apply(ctx, pool("p2", "10.2.0.0/16")); err != nil {
		t.Fatal(err)
	}
	list, _, err := ListAs[*resources.IPPool](ctx, s, "")
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %v, %v", list, err)
	}
	if list[0].Meta().CreationTimestamp == nil {
		t.Fatal("creation timestamp lost")
	}
	if _, err := s.Delete(ctx, resources.KindIPPool, "", "p1", "1"); !errors.Is(err, ErrConflict) {
		t.Fatalf("conditional delete: %v, want ErrConflict", err)
	}
	old, err := s.Delete(ctx, "ippool", "", "p1", "")
	if err != nil || old.(*resources.IPPool).Spec.NATOutgoing != true {
		t.Fatalf("delete = %v, %v", old, err)
	}
	if _, err := s.Delete(ctx, "ippool", "", "p1", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("double delete: %v", err)
	}
}

func TestInvalidWriteLeavesStoreUnchanged(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, pool("p1", "10.1.0.0/16")); err != nil {
		t.Fatal(err)
	}
	before := dump(t, s)
	for _, bad := range []resources.Resource{pool("p2", "10.0.0/8"), pool("P3", "10.3.0.0/16"), pool("p1", "bogus")} {
		if _, err := s.Apply(ctx, bad); !resources.IsValidationError(err) {
			t.Fatalf("apply %s: %v, want validation error", bad.Meta().Name, err)
		}
	}
	np := resources.NewNetworkPolicy("np")
	np.Namespace = "Not_A/Namespace"
	if _, err := s.Create(ctx, np); err == nil {
		t.Fatal("policy in an invalid namespace accepted")
	}
	after := dump(t, s)
	if len(before) != len(after) {
		t.Fatalf("store changed: %d keys before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("key %s changed", k)
		}
	}
}

func TestNamespacedKeys(t *testing.T) {
	k, err := KeyFor("NetworkPolicy", "", "np1")
	if err != nil || k != "/calico/resources/v3/projectcalico.org/networkpolicies/default/np1" {
		t.Fatalf("key = %q, %v", k, err)
	}
	k, _ = KeyFor("GlobalNetworkPolicy", "", "g")
	if k != "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/g" {
		t.Fatalf("key = %q", k)
	}
	if kindOfKey(k) != resources.KindGlobalNetworkPolicy {
		t.Fatalf("kindOfKey(%q) = %q", k, kindOfKey(k))
	}
}

func TestConnectErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Connect(ctx, EtcdConfig{}); err == nil {
		t.Fatal("no endpoints accepted")
	}
	if _, err := Connect(ctx, EtcdConfig{Endpoints: []string{"127.0.0.1:2379"}}); err == nil {
		t.Fatal("endpoint without scheme accepted")
	}
	if _, err := Connect(ctx, EtcdConfig{Endpoints: []string{"http://127.0.0.1:1"}, CertFile: "x"}); err == nil {
		t.Fatal("cert without key accepted")
	}
	if got := ParseEndpoints(" http://a:1, ,http://b:2 "); len(got) != 2 {
		t.Fatalf("ParseEndpoints = %v", got)
	}
}
