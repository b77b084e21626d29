package routing_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestPolicyAcrossHosts: a policy on host2's workload admits a workload on
// host1 by selector, and not one on host3: felix on host2 knows remote
// workloads' labels and addresses.
func TestPolicyAcrossHosts(t *testing.T) {
	b := sharedBed(t)
	h1, h2, h3 := b.Hosts[0], b.Hosts[1], b.Hosts[2]
	front, back := network(t, b, "front", netip.Prefix{}), network(t, b, "back", netip.Prefix{})
	client := workload(t, h1, front, map[string]string{"org.projectcalico.label.role": "client"})
	other := workload(t, h3, front, map[string]string{"org.projectcalico.label.role": "other"})
	server := workload(t, h2, back, map[string]string{"org.projectcalico.label.role": "server"})
	peer := workload(t, h1, back, nil)

	// Networks are isolated by their profiles: only back reaches back.
	allReach(t, peer, server)
	if _, err := reach(client, server); err == nil {
		t.Fatal("front reached back before any policy allowed it")
	}

	pol := resources.NewNetworkPolicy("allow-clients")
	pol.Spec.Selector = "role == 'server'"
	pol.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow, Source: resources.EntityRule{Selector: "role == 'client'"}}}
	apply(t, b, pol)
	eventually(t, "the remote client is admitted", func() error {
		_, err := reach(client, server)
		return err
	})
	if _, err := other.NS.Reach(netip.AddrPortFrom(server.IP, 80), time.Second); err == nil {
		t.Error("a remote workload the selector does not match was admitted")
	}
}
