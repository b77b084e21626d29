package cli

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// EndpointIndex is every WorkloadEndpoint, for resolving the container
// names, IDs, endpoint names and addresses operators type.
type EndpointIndex struct {
	Weps []*resources.WorkloadEndpoint // sorted by name
}

func LoadEndpoints(ctx context.Context, st *datastore.Store) (*EndpointIndex, error) {
	weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, st, "")
	if err != nil {
		return nil, fmt.Errorf("list workload endpoints: %w", err)
	}
	slices.SortFunc(weps, func(x, y *resources.WorkloadEndpoint) int { return strings.Compare(x.Name, y.Name) })
	return &EndpointIndex{Weps: weps}, nil
}

// ByAddr returns the endpoint holding addr, or nil.
func (ix *EndpointIndex) ByAddr(addr netip.Addr) *resources.WorkloadEndpoint {
	for _, w := range ix.Weps {
		for _, p := range w.Addrs() {
			if p.Addr() == addr {
				return w
			}
		}
	}
	return nil
}

// containerKey identifies the container behind an endpoint, for telling
// "one container with two endpoints" from "two containers".
func containerKey(w *resources.WorkloadEndpoint) string {
	switch {
	case w.Spec.ContainerID != "":
		return "id:" + w.Spec.ContainerID
	case w.Spec.Workload != "":
		return "name:" + w.Spec.Workload
	}
	return "ep:" + w.Name
}

// ContainerName is how an endpoint's container is shown.
func ContainerName(w *resources.WorkloadEndpoint) string {
	switch {
	case w.Spec.Workload != "":
		return w.Spec.Workload
	case w.Spec.ContainerID != "":
		return ShortID(w.Spec.ContainerID)
	}
	return ""
}

func ShortID(id string) string { return id[:min(12, len(id))] }

// Match finds the endpoints arg names, trying in turn: an endpoint name,
// a container name (spec.workload, with or without Docker's leading '/'),
// a container ID or prefix (spec.containerID), a Docker endpoint ID or
// prefix (spec.endpoint). The first kind that matches wins. It fails when
// nothing matches or when an ID prefix matches several containers.
func (ix *EndpointIndex) Match(arg string) ([]*resources.WorkloadEndpoint, error) {
	if arg == "" {
		return nil, fmt.Errorf("an empty container name matches nothing: give a container name or ID, an endpoint name or an IP address")
	}
	name := strings.TrimPrefix(arg, "/")
	tiers := []func(*resources.WorkloadEndpoint) bool{
		func(w *resources.WorkloadEndpoint) bool { return w.Name == arg },
		func(w *resources.WorkloadEndpoint) bool { return w.Spec.Workload != "" && w.Spec.Workload == name },
		func(w *resources.WorkloadEndpoint) bool {
			return w.Spec.ContainerID != "" && strings.HasPrefix(w.Spec.ContainerID, strings.ToLower(arg))
		},
		func(w *resources.WorkloadEndpoint) bool {
			return w.Spec.Endpoint != "" && strings.HasPrefix(w.Spec.Endpoint, strings.ToLower(arg))
		},
	}
	for _, tier := range tiers {
		var found []*resources.WorkloadEndpoint
		containers := map[string]bool{}
		for _, w := range ix.Weps {
			if tier(w) {
				found = append(found, w)
				containers[containerKey(w)] = true
			}
		}
		if len(found) == 0 {
			continue
		}
		if len(containers) > 1 {
			return nil, fmt.Errorf("%q matches the endpoints of %d containers (%s): give more of the ID, the container name or the endpoint name",
				arg, len(containers), endpointNames(found))
		}
		return found, nil
	}
	return nil, fmt.Errorf("no container or endpoint %q: give a container name or ID, an endpoint name (calicoctl get workloadendpoints) or an IP address", arg)
}

func endpointNames(weps []*resources.WorkloadEndpoint) string {
	names := make([]string, len(weps))
	for i, w := range weps {
		names[i] = w.Name
	}
	return strings.Join(names, ", ")
}

// LooksLikeIP reports whether s was probably meant as an IP address (so a
// malformed one is reported as such, not as an unknown container).
func LooksLikeIP(s string) bool {
	if strings.Count(s, ".") == 3 && strings.Trim(s, "0123456789./") == "" {
		return true
	}
	return strings.Count(s, ":") >= 2 && strings.Trim(strings.ToLower(s), "0123456789abcdef:./%") == ""
}
