package driver

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// Namespaces on Docker. Calico's namespaced kinds (WorkloadEndpoint,
// NetworkPolicy, NetworkSet) live in a namespace; a Docker endpoint's
// namespace is its network's, chosen at `docker network create --opt
// org.projectcalico.namespace=NAME` (default "default"). It is part of
// the WorkloadEndpoint's key, so it is fixed for the network's life; every
// endpoint of the network is stored in it, and namespaced NetworkPolicies
// and NetworkSets of that namespace select its containers (calc gives each
// endpoint the label projectcalico.org/namespace).
//
// A container label was not chosen: labels are read after Join, when the
// endpoint is already stored under its key, and one container could then
// put endpoints of one network into several namespaces.

// OptNamespace is the --opt naming the namespace of the network's endpoints.
const OptNamespace = "org.projectcalico.namespace"

// parseNamespaceOpt validates the value of --opt org.projectcalico.namespace.
func parseNamespaceOpt(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("--opt %s must be a string, not %v", OptNamespace, v)
	}
	if err := resources.ValidateNamespace(s); err != nil {
		return "", fmt.Errorf("--opt %s=%s: %w; recreate the network with a valid name, or leave the option out for namespace %q",
			OptNamespace, s, err, resources.DefaultNamespace)
	}
	return s, nil
}

// namespace returns the namespace of the network's endpoints.
func (n *Network) namespace() string { return cmp.Or(n.Namespace, resources.DefaultNamespace) }

// namespaceOf returns the namespace of the endpoints of network id, from
// the network's record (remembered: it never changes for a network). A
// network with no record (deleted meanwhile) is taken to be in "default".
func (d *Driver) namespaceOf(ctx context.Context, networkID string) (string, error) {
	if ns, ok := d.namespaces.Load(networkID); ok {
		return ns.(string), nil
	}
	rec, err := d.records.get(ctx, networkID)
	if errors.Is(err, ErrUnknownNetwork) {
		return resources.DefaultNamespace, nil
	}
	if err != nil {
		return "", err
	}
	d.namespaces.Store(networkID, rec.namespace())
	return rec.namespace(), nil
}
