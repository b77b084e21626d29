package daemon

import (
	"net/http"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// Calico's "datastore ready" flag: ClusterInformation default
// spec.datastoreReady. An operator (or an upgrade, or `calicoctl datastore
// migrate lock`) sets it to false to hold the cluster still; Calico's CNI
// plugin then refuses to network new pods ("Calico is currently not ready
// to process requests"). The plugin does the same for Docker: the calls
// that would create networks, endpoints or address allocations are
// refused while the flag is false; tearing down (Leave, DeleteEndpoint,
// ReleaseAddress, ReleasePool, DeleteNetwork) still works, so containers
// can stop. Running workloads keep their dataplane.

// gatedCalls are the plugin calls refused while the datastore is not ready.
var gatedCalls = map[string]bool{
	"/NetworkDriver.CreateNetwork": true, "/NetworkDriver.CreateEndpoint": true, "/NetworkDriver.Join": true,
	"/IpamDriver.RequestPool": true, "/IpamDriver.RequestAddress": true,
}

// clusterInfoSource reads ClusterInformation (the cache).
type clusterInfoSource interface {
	Resources(kind string) []resources.Resource
}

// datastoreReady reports ClusterInformation default's datastoreReady
// (true when unset or missing, as in Calico).
func datastoreReady(c clusterInfoSource) bool {
	for _, r := range c.Resources(resources.KindClusterInformation) {
		if ci, ok := r.(*resources.ClusterInformation); ok && ci.Name == resources.ClusterInformationName {
			return ci.Ready()
		}
	}
	return true
}

// readyGate wraps a plugin handler: gated calls get Docker's {"Err"}
// while the datastore is not ready.
func readyGate(c clusterInfoSource) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if gatedCalls[r.URL.Path] && !datastoreReady(c) {
				pluginError(w, http.StatusServiceUnavailable, "calico: the datastore is not ready (ClusterInformation default has "+
					"datastoreReady: false, set during an upgrade or migration): try again later, or set spec.datastoreReady "+
					"back to true (calicoctl get clusterinformation default -o yaml, edit, calicoctl apply -f)")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
