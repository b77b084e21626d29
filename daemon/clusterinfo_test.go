package daemon

import (
	"context"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestEnsureClusterInformation(t *testing.T) {
	_, cli := testenv.StartEtcd(t)
	s := datastore.New(cli)
	ctx := context.Background()
	if err := ensureClusterInformation(ctx, s); err != nil {
		t.Fatal(err)
	}
	ci, err := datastore.GetAs[*resources.ClusterInformation](ctx, s, "", "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(ci.Spec.ClusterGUID) != 32 || ci.Spec.CalicoVersion != Version() || !ci.Ready() || ci.Spec.ClusterType != clusterType ||
		ci.Spec.Variant != "Calico" {
		t.Fatalf("created %+v", ci.Spec)
	}
	// A restart (or a newer daemon) keeps the GUID and what users set.
	ci.Spec.CalicoVersion, ci.Spec.Variant = "v0-old", "mine"
	if _, err := s.Update(ctx, ci); err != nil {
		t.Fatal(err)
	}
	if err := ensureClusterInformation(ctx, s); err != nil {
		t.Fatal(err)
	}
	again, _ := datastore.GetAs[*resources.ClusterInformation](ctx, s, "", "default")
	if again.Spec.ClusterGUID != ci.Spec.ClusterGUID || again.Spec.CalicoVersion != Version() || again.Spec.Variant != "mine" {
		t.Fatalf("after restart %+v", again.Spec)
	}
}

func TestEnsureDefaultTier(t *testing.T) {
	_, cli := testenv.StartEtcd(t)
	s := datastore.New(cli)
	ctx := context.Background()
	for range 2 { // idempotent
		if err := ensureDefaultTier(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	tier, err := datastore.GetAs[*resources.Tier](ctx, s, "", resources.DefaultTierName)
	if err != nil || tier.Spec.Order == nil || *tier.Spec.Order != resources.DefaultTierOrder || tier.Spec.DefaultAction != resources.TierActionDeny {
		t.Fatalf("default tier %+v, %v", tier, err)
	}
}
