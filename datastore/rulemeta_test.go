package datastore

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestRuleMetadataKept: Calico's first NetworkPolicy example (namespace
// production, a rule with metadata.annotations) is stored unchanged and
// read back with its rule metadata; a policy with a field that cannot
// apply on Docker is refused and nothing is stored.
func TestRuleMetadataKept(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	data, err := os.ReadFile("../resources/testdata/calico-docs/networkpolicy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	objs, err := resources.DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, objs[0]); err != nil {
		t.Fatalf("store the documentation's example: %v", err)
	}
	got, err := GetAs[*resources.NetworkPolicy](ctx, s, "production", "allow-tcp-6379")
	if err != nil {
		t.Fatal(err)
	}
	md := got.Spec.Ingress[0].Metadata
	if md == nil || md.Annotations["from"] != "frontend" || md.Annotations["to"] != "database" {
		t.Fatalf("rule metadata not kept: %+v", md)
	}

	bad := resources.NewNetworkPolicy("with-sa")
	bad.Namespace = "production"
	bad.Spec.ServiceAccountSelector = "role == 'x'"
	before := dump(t, s)
	if _, err := s.Create(ctx, bad); err == nil {
		t.Fatal("a policy with serviceAccountSelector was stored")
	}
	if _, err := GetAs[*resources.NetworkPolicy](ctx, s, "production", "with-sa"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("refused policy readable: %v", err)
	}
	if after := dump(t, s); len(after) != len(before) {
		t.Fatalf("etcd changed by a refused write: %d -> %d keys", len(before), len(after))
	}
}
