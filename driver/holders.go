package driver

import (
	"net/netip"
	"strings"

	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// IsEndpointHandle reports whether an IPAM handle is an endpoint's (see
// Handle): its addresses are leaked once its WorkloadEndpoint is gone.
func IsEndpointHandle(h string) bool { return strings.HasPrefix(h, handlePrefix) }

// HoldersOf is what holds IPAM allocations, for the IPAM garbage
// collector: the addresses of the given WorkloadEndpoints (every node's)
// and their endpoints' handles. Join stores an endpoint before it re-owns
// the addresses to the endpoint's handle, so an allocation held by an
// endpoint handle always has its endpoint stored by then.
func HoldersOf(weps []*resources.WorkloadEndpoint) ipam.Holders {
	h := ipam.Holders{IPs: map[netip.Addr]bool{}, Handles: map[string]bool{}}
	for _, w := range weps {
		for _, p := range w.Addrs() {
			h.IPs[p.Addr()] = true
		}
		if w.Spec.Endpoint != "" {
			h.Handles[Handle(w.Spec.Endpoint)] = true
		}
	}
	return h
}
