package daemon

import (
	"github.com/calico-docker/calico-libnetwork/cache"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// useCachedReservations makes IPAM read IPReservations from the cache (it
// holds every resource kind), so an assignment costs no extra etcd round
// trip; a reservation applies as soon as the cache has it (a watch event,
// milliseconds after calicoctl wrote it).
func useCachedReservations(alloc *ipam.Allocator, c *cache.Cache) {
	alloc.UseReservations(func() []*resources.IPReservation {
		objs := c.Resources(resources.KindIPReservation)
		out := make([]*resources.IPReservation, 0, len(objs))
		for _, o := range objs {
			if r, ok := o.(*resources.IPReservation); ok {
				out = append(out, r)
			}
		}
		return out
	})
}
