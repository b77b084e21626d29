package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// clusterType is what ClusterInformation says this cluster is; variant
// is Calico's name for the open-source product, which calicoctl version
// shows as the cluster type's companion.
const (
	clusterType = "docker,bgp"
	variant     = "Calico"
)

// ensureClusterInformation creates ClusterInformation "default" (a new
// cluster GUID, this daemon's version, datastore ready) or brings its
// version up to this daemon's, keeping the GUID and anything users set.
// calicoctl version reads it.
func ensureClusterInformation(ctx context.Context, s *datastore.Store) error {
	for range 5 {
		ci, err := datastore.GetAs[*resources.ClusterInformation](ctx, s, "", resources.ClusterInformationName)
		switch {
		case errors.Is(err, datastore.ErrNotFound):
			ci = resources.NewClusterInformation(resources.ClusterInformationName)
			guid := make([]byte, 16)
			if _, err := rand.Read(guid); err != nil {
				return fmt.Errorf("cluster GUID: %w", err)
			}
			ready := true
			ci.Spec = resources.ClusterInformationSpec{ClusterGUID: hex.EncodeToString(guid), ClusterType: clusterType,
				CalicoVersion: Version(), DatastoreReady: &ready, Variant: variant}
			_, err = s.Create(ctx, ci)
		case err != nil:
			return fmt.Errorf("read ClusterInformation: %w", err)
		case ci.Spec.CalicoVersion == Version():
			return nil
		default:
			ci.Spec.CalicoVersion = Version()
			_, err = s.Update(ctx, ci) // compare-and-swap on the version read
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, datastore.ErrAlreadyExists) && !errors.Is(err, datastore.ErrConflict) {
			return fmt.Errorf("write ClusterInformation: %w", err)
		}
	}
	return errors.New("write ClusterInformation: it kept changing under us; retry")
}

// ensureDefaultTier creates the default tier, as Calico does, so that
// calicoctl get tiers shows it; an existing one is left alone.
func ensureDefaultTier(ctx context.Context, s *datastore.Store) error {
	_, err := s.Create(ctx, resources.NewDefaultTier())
	if err != nil && !errors.Is(err, datastore.ErrAlreadyExists) {
		return fmt.Errorf("create the default tier: %w", err)
	}
	return nil
}
