package resource

import (
	"context"
	"errors"
	"fmt"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Tiers follow Calico's rules on every write: a policy names a tier that
// exists (the default tier always does), and a tier is not deleted while
// a policy is in it; the default tier is never deleted.

// policyKinds are the kinds that belong to a tier.
var policyKinds = []string{resources.KindNetworkPolicy, resources.KindGlobalNetworkPolicy,
	resources.KindStagedNetworkPolicy, resources.KindStagedGlobalNetworkPolicy}

// PolicySpecOf returns a policy object's spec, or nil for other kinds.
func PolicySpecOf(o resources.Resource) *resources.PolicySpec {
	switch p := o.(type) {
	case *resources.NetworkPolicy:
		return &p.Spec
	case *resources.GlobalNetworkPolicy:
		return &p.Spec
	case *resources.StagedNetworkPolicy:
		return &p.Spec.PolicySpec
	case *resources.StagedGlobalNetworkPolicy:
		return &p.Spec.PolicySpec
	}
	return nil
}

// checkTierWrites refuses the policies of todo whose tier neither exists
// nor is created by the same input (objs).
func checkTierWrites(ctx context.Context, st *datastore.Store, objs, todo []resources.Resource) ([]cli.ObjectError, error) {
	inInput := map[string]bool{resources.DefaultTierName: true}
	for _, o := range objs {
		if t, ok := o.(*resources.Tier); ok {
			inInput[t.Name] = true
		}
	}
	var errs []cli.ObjectError
	for i, o := range objs {
		spec := PolicySpecOf(o)
		if spec == nil || !contains(todo, o) || inInput[spec.TierName()] {
			continue
		}
		_, err := st.Get(ctx, resources.KindTier, "", spec.TierName())
		switch {
		case errors.Is(err, datastore.ErrNotFound):
			errs = append(errs, cli.ObjectError{Index: i + 1, Err: &resources.FieldError{Kind: o.GetTypeMeta().Kind, Name: o.Meta().Name, Field: "spec.tier", Value: spec.Tier,
				Msg: "names a tier that does not exist: create the Tier first (or in the same file), or remove spec.tier for the default tier"}})
		case err != nil:
			return nil, fmt.Errorf("read tier %q: %w", spec.Tier, err)
		}
	}
	return errs, nil
}

// checkDelete refuses the deletes Calico refuses: ClusterInformation
// (the cluster's GUID, which the daemon writes once), the default tier and
// a tier that still holds policies.
func checkDelete(ctx context.Context, st *datastore.Store, obj resources.Resource) error {
	if ci, ok := obj.(*resources.ClusterInformation); ok {
		return fmt.Errorf("ClusterInformation %q cannot be deleted: it holds the cluster's GUID, which the daemon writes once; "+
			"to hold the cluster still, set spec.datastoreReady: false with calicoctl apply", ci.Name)
	}
	return checkTierDelete(ctx, st, obj)
}

// checkTierDelete refuses deleting the default tier or a tier in use.
func checkTierDelete(ctx context.Context, st *datastore.Store, obj resources.Resource) error {
	t, ok := obj.(*resources.Tier)
	if !ok {
		return nil
	}
	if t.Name == resources.DefaultTierName {
		return fmt.Errorf("tier %q cannot be deleted: every policy without spec.tier belongs to it", t.Name)
	}
	for _, kind := range policyKinds {
		objs, _, err := st.List(ctx, kind, "")
		if err != nil {
			return fmt.Errorf("list %s: %w", kind, err)
		}
		for _, o := range objs {
			if spec := PolicySpecOf(o); spec != nil && spec.TierName() == t.Name {
				return fmt.Errorf("tier %q still holds %s %q: delete or move its policies first", t.Name, kind, o.Meta().Name)
			}
		}
	}
	return nil
}

func contains(list []resources.Resource, o resources.Resource) bool {
	for _, x := range list {
		if x == o {
			return true
		}
	}
	return false
}
