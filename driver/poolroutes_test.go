package driver

import (
	"net/netip"
	"testing"

	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestHoldsAny(t *testing.T) {
	w := resources.NewWorkloadEndpoint("host1-libnetwork-libnetwork-aa")
	w.Spec.IPNetworks = []string{"10.233.0.5/32", "192.168.0.7/32"}
	pool := netip.MustParsePrefix("192.168.0.0/16")
	if !holdsAny(pool, []*resources.WorkloadEndpoint{w}) {
		t.Error("an endpoint with 192.168.0.7 does not hold an address in 192.168.0.0/16")
	}
	w.Spec.IPNetworks = []string{"10.233.0.5/32"}
	if holdsAny(pool, []*resources.WorkloadEndpoint{w}) || holdsAny(pool, nil) {
		t.Error("holdsAny true without an address in the pool")
	}
}
