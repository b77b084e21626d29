package driver

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// IsEndpointHandle reports whether an IPAM handle is an endpoint's (see
// Handle): its addresses are leaked once its WorkloadEndpoint is gone.
func IsEndpointHandle(h string) bool { return strings.HasPrefix(h, handlePrefix) }

// IPAMHolders reads what holds IPAM allocations, for the IPAM garbage
// collector: the addresses of every WorkloadEndpoint (any node) and the
// handles of the endpoints. CreateEndpoint stores an endpoint before it
// re-owns the addresses to the endpoint's handle, so an allocation held by
// an endpoint handle always has its endpoint in etcd by then.
func IPAMHolders(ctx context.Context, store *datastore.Store) (ipam.Holders, error) {
	weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, store, "")
	if err != nil {
		return ipam.Holders{}, fmt.Errorf("list workload endpoints: %w", err)
	}
	h := ipam.Holders{IPs: map[netip.Addr]bool{}, Handles: map[string]bool{}}
	for _, w := range weps {
		for _, p := range w.Addrs() {
			h.IPs[p.Addr()] = true
		}
		if w.Spec.Endpoint != "" {
			h.Handles[Handle(w.Spec.Endpoint)] = true
		}
	}
	return h, nil
}
