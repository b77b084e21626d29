package daemon

import (
	"net/http"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
)

// newIPAMHandler returns the calico-ipam plugin handler.
func newIPAMHandler(store *datastore.Store, alloc *ipam.Allocator) http.Handler {
	return ipamdriver.New(alloc, store).Handler()
}
