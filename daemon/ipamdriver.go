package daemon

import (
	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
)

// newIPAMHandler returns the calico-ipam plugin server.
func newIPAMHandler(store *datastore.Store, alloc *ipam.Allocator) server {
	return ipamdriver.New(alloc, store)
}
