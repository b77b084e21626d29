package daemon

import (
	"net/http"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
)

// newIPAMHandler returns the calico-ipam plugin handler; with IPv6 off it
// refuses IPv6 networks, naming the setting.
func newIPAMHandler(store *datastore.Store, alloc *ipam.Allocator, ipv6 bool) http.Handler {
	d := ipamdriver.New(alloc, store)
	if !ipv6 {
		d.RefuseIPv6()
	}
	return d.Handler()
}
