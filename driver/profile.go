package driver

import (
	"context"
	"errors"
	"fmt"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// NewNetworkProfile returns the profile the driver creates for a network
// when none of that name exists: its members get the label <name> (as the
// profiles in Calico's Docker and DC/OS documentation do), ingress is
// allowed only from endpoints carrying that label and egress is allowed
// everywhere. So endpoints of one profile reach each other, and networks
// with different profiles are isolated from each other, as Docker users
// expect of separate networks. An existing profile is never changed.
func NewNetworkProfile(name string) *resources.Profile {
	p := resources.NewProfile(name)
	p.Spec.LabelsToApply = map[string]string{name: ""}
	p.Spec.Ingress = []resources.Rule{{
		Action: resources.ActionAllow,
		Source: resources.EntityRule{Selector: fmt.Sprintf("has(%s)", name)},
	}}
	p.Spec.Egress = []resources.Rule{{Action: resources.ActionAllow}}
	return p
}

// ensureProfile creates the network profile name unless a profile of that
// name exists (several networks may share one; users may have written it).
func (d *Driver) ensureProfile(ctx context.Context, name string) error {
	_, err := d.store.Get(ctx, resources.KindProfile, "", name)
	if err == nil {
		return nil
	}
	if !errors.Is(err, datastore.ErrNotFound) {
		return fmt.Errorf("read profile %q: %w", name, err)
	}
	_, err = d.store.Create(ctx, NewNetworkProfile(name))
	if err != nil && !errors.Is(err, datastore.ErrAlreadyExists) {
		return fmt.Errorf("create profile %q: %w", name, err)
	}
	if err == nil {
		d.log.Info("Created profile", "profile", name)
	}
	return nil
}
