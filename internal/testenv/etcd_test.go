package testenv

import (
	"context"
	"testing"
	"time"
)

func TestStartEtcdServesPutGet(t *testing.T) {
	start := time.Now()
	endpoints, client := StartEtcd(t)
	t.Logf("embedded etcd at %v ready in %v", endpoints, time.Since(start))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := client.Put(ctx, "/calico/test/key", "value"); err != nil {
		t.Fatalf("put: %v", err)
	}
	resp, err := client.Get(ctx, "/calico/test/key")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "value" {
		t.Fatalf("get returned %v, want one key with value %q", resp.Kvs, "value")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("start + put + get took %v; want well under 2s", d)
	}
}

func TestStartEtcdTwiceGivesSeparateServers(t *testing.T) {
	a, ca := StartEtcd(t)
	b, cb := StartEtcd(t)
	if a[0] == b[0] {
		t.Fatalf("both servers at %s", a[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ca.Put(ctx, "k", "a"); err != nil {
		t.Fatal(err)
	}
	resp, err := cb.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 0 {
		t.Fatalf("second server sees the first one's key")
	}
}
