package driver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/dockerapi"
)

// CreateNetwork validates the request (calico-ipam pools, known options,
// a usable profile name), creates the profile when it is named by --opt,
// and stores the network record. With no --opt profile the profile is the
// network's name, which Docker does not send and cannot tell before this
// call returns: a background lookup (and, failing that, the first
// CreateEndpoint) learns it and creates the profile then.
func (d *Driver) CreateNetwork(ctx context.Context, req *network.CreateNetworkRequest) error {
	opts, err := parseCreateNetwork(req)
	if err != nil {
		return d.fail("CreateNetwork", err, "network", req.NetworkID)
	}
	rec := &Network{
		ID: req.NetworkID, Profile: opts.profile, ProfileFromName: opts.profile == "", Namespace: opts.namespace,
		IPv4Pools: opts.ipv4Pools, IPv6Pools: opts.ipv6Pools, IPv6: opts.ipv6,
		Created: time.Now().UTC().Truncate(time.Second),
	}
	if rec.Profile != "" {
		if err := d.ensureProfile(ctx, rec.Profile); err != nil {
			return d.fail("CreateNetwork", err, "network", req.NetworkID)
		}
	}
	if err := d.records.put(ctx, rec); err != nil {
		return d.fail("CreateNetwork", err, "network", req.NetworkID)
	}
	d.log.Info("Created network", "network", rec.ID, "profile", rec.Profile, "namespace", rec.namespace(), "ipv4Pools", rec.IPv4Pools, "ipv6Pools", rec.IPv6Pools)
	if d.docker != nil {
		d.bg.Go(func() { d.learnName(rec.ID) })
	}
	return nil
}

// DeleteNetwork removes the network record. The profile stays: other
// networks may share it, and users may have written rules into it.
func (d *Driver) DeleteNetwork(ctx context.Context, req *network.DeleteNetworkRequest) error {
	if err := checkID("NetworkID", req.NetworkID); err != nil {
		return d.fail("DeleteNetwork", err)
	}
	if err := d.records.delete(ctx, req.NetworkID); err != nil {
		return d.fail("DeleteNetwork", err, "network", req.NetworkID)
	}
	d.namespaces.Delete(req.NetworkID)
	d.log.Info("Deleted network", "network", req.NetworkID)
	return nil
}

// learnName polls Docker for a new network's name until Docker has stored
// the network (right after CreateNetwork returns), then completes the record.
func (d *Driver) learnName(id string) {
	ctx, cancel := context.WithTimeout(d.ctx, d.nameFor)
	defer cancel()
	for delay := 20 * time.Millisecond; ; delay = min(delay*2, time.Second) {
		rec, err := d.records.get(ctx, id)
		if err != nil || rec.Name != "" {
			return // deleted meanwhile, or already complete
		}
		_, err = d.completeNetwork(ctx, rec)
		if err == nil || !errors.Is(err, dockerapi.ErrNotFound) {
			if err != nil {
				d.log.Warn("Could not learn the network's name; will retry at its first endpoint", "network", id, "err", err)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// network returns the record of a network with its name and profile
// filled in, learning them from Docker if need be.
func (d *Driver) network(ctx context.Context, id string) (*Network, error) {
	rec, err := d.records.get(ctx, id)
	if err != nil {
		if errors.Is(err, ErrUnknownNetwork) {
			return nil, fmt.Errorf("network %s was not created by this calico driver's datastore "+
				"(was etcd reset or changed?); remove the network and create it again: %w", id, err)
		}
		return nil, err
	}
	return d.nameOptional(d.completeNetwork(ctx, rec))
}

// completeNetwork learns the network's name from Docker when the record
// lacks it and, if the profile defaults to the name, creates the profile.
// A network with an explicit profile works without the name.
func (d *Driver) completeNetwork(ctx context.Context, rec *Network) (*Network, error) {
	if rec.Name != "" && rec.Profile != "" {
		return rec, nil
	}
	name, err := d.networkName(ctx, rec.ID, rec.Profile == "")
	if err != nil {
		if rec.Profile != "" { // usable without its name: the caller decides (netname.go)
			return rec, fmt.Errorf("%w: %w", errNameUnknown, err)
		}
		return nil, err
	}
	rec.Name = name
	if rec.Profile == "" {
		if err := ValidateProfileName(name); err != nil {
			return nil, fmt.Errorf("network %q needs a profile and its name cannot be one (%w); "+
				"recreate it with --opt %s=NAME", name, err, OptProfile)
		}
		if err := d.ensureProfile(ctx, name); err != nil {
			return nil, err
		}
		rec.Profile = name
	}
	if err := d.records.update(ctx, rec); err != nil {
		if !errors.Is(err, errRecordChanged) {
			return nil, err
		}
		// Another handler completed it, or the network was deleted.
		return d.records.get(ctx, rec.ID)
	}
	return rec, nil
}

// networkName asks Docker for a network's name; forProfile says the name
// is needed for the default profile (the error then says how to do without).
func (d *Driver) networkName(ctx context.Context, id string, forProfile bool) (string, error) {
	hint := ""
	if forProfile {
		hint = fmt.Sprintf(" (needed for its default profile; or create the network with --opt %s=NAME)", OptProfile)
	}
	if d.docker == nil {
		return "", fmt.Errorf("network %s: no Docker API client to learn its name; set DOCKER_HOST%s", id, hint)
	}
	name, err := d.docker.NetworkName(ctx, id)
	if err != nil {
		return "", fmt.Errorf("learn the name of network %s%s: %w", id, hint, err)
	}
	return name, nil
}
