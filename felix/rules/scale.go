package rules

import (
	"fmt"

	"github.com/calico-docker/calico-libnetwork/calc"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// ScaleModel builds a model with n local endpoints on node "h1" (labels
// app=app<i>) and p policies, policy j selecting app=app<j mod n> and
// allowing TCP 80 from app<j+1 mod n>. Used by scale tests and benchmarks.
func ScaleModel(n, p int) (*calc.Model, error) {
	ups, err := ScaleUpdates(n, p)
	if err != nil {
		return nil, err
	}
	m := calc.NewModel()
	m.Apply(model.SyncEvent{Full: true, Updates: ups})
	return m, nil
}

// ScaleIface is the interface name of scale endpoint i: "cali" and 11 hex
// digits that look random, as the Docker driver's names do (the first
// characters of a random endpoint ID): the nftables dataplane's egress
// shards go by the first of them. Distinct for every i below 2^44.
func ScaleIface(i int) string {
	return fmt.Sprintf("cali%011x", uint64(i)*0x9e3779b97f4a7c15&(1<<44-1))
}

// ScaleUpdates returns ScaleModel's content as datastore updates (for
// feeding a dataplane). Endpoint i has interface ScaleIface(i), address
// 10.<i>/32 spread over the last three octets and, as the Docker
// driver's endpoints have, a MAC (02:42 and the address, as Docker's).
func ScaleUpdates(n, p int) ([]model.Update, error) {
	var ups []model.Update
	prof := resources.NewProfile("net1")
	prof.Spec.Egress = []resources.Rule{{Action: resources.ActionAllow}}
	ups = append(ups, model.Update{Kind: resources.KindProfile, Name: "net1", Object: prof})
	for i := 0; i < n; i++ {
		w := resources.NewWorkloadEndpoint(fmt.Sprintf("w%d", i))
		w.Spec.Node, w.Spec.InterfaceName = "h1", ScaleIface(i)
		w.Spec.IPNetworks = []string{fmt.Sprintf("10.%d.%d.%d/32", i>>16&255, i>>8&255, i&255)}
		w.Spec.MAC = fmt.Sprintf("02:42:0a:%02x:%02x:%02x", i>>16&255, i>>8&255, i&255)
		w.Spec.Profiles = []string{"net1"}
		w.Labels = map[string]string{"app": fmt.Sprintf("app%d", i)}
		ups = append(ups, model.UpdateOf(w))
	}
	tcp, _ := resources.ParseProtocol("TCP")
	for j := 0; j < p; j++ {
		pol := resources.NewGlobalNetworkPolicy(fmt.Sprintf("p%d", j))
		order := float64(j)
		pol.Spec.Order = &order
		pol.Spec.Selector = fmt.Sprintf("app == 'app%d'", j%max(n, 1))
		pol.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow, Protocol: &tcp,
			Source:      resources.EntityRule{Selector: fmt.Sprintf("app == 'app%d'", (j+1)%max(n, 1))},
			Destination: resources.EntityRule{Ports: []resources.Port{{Min: 80, Max: 80}}}}}
		pol.Default()
		if err := pol.Validate(); err != nil {
			return nil, err
		}
		ups = append(ups, model.Update{Kind: pol.Kind, Name: pol.Name, Object: pol})
	}
	return ups, nil
}

// HostScaleModel builds a model of h host endpoints of node "h1"
// (interfaces eth<i>, label tier=edge) under an untracked policy allowing
// UDP 53 both ways and a pre-DNAT policy denying 198.51.100.0/24: what the
// raw and mangle tables render. Used by the nftables dataplane's tests.
func HostScaleModel(h int) (*calc.Model, error) {
	var ups []model.Update
	for i := 0; i < h; i++ {
		hep := resources.NewHostEndpoint(fmt.Sprintf("h1-eth%d", i))
		hep.Spec.Node, hep.Spec.InterfaceName, hep.Labels = "h1", fmt.Sprintf("eth%d", i), map[string]string{"tier": "edge"}
		ups = append(ups, model.UpdateOf(hep))
	}
	udp, _ := resources.ParseProtocol("UDP")
	dns := []resources.Port{{Min: 53, Max: 53}}
	untracked := resources.NewGlobalNetworkPolicy("edge-untracked")
	untracked.Spec.Selector, untracked.Spec.DoNotTrack, untracked.Spec.ApplyOnForward = "tier == 'edge'", true, true
	untracked.Spec.Ingress = []resources.Rule{{Action: resources.ActionAllow, Protocol: &udp, Destination: resources.EntityRule{Ports: dns}}}
	untracked.Spec.Egress = []resources.Rule{{Action: resources.ActionAllow, Protocol: &udp, Source: resources.EntityRule{Ports: dns}}}
	preDNAT := resources.NewGlobalNetworkPolicy("edge-prednat")
	preDNAT.Spec.Selector, preDNAT.Spec.PreDNAT, preDNAT.Spec.ApplyOnForward = "tier == 'edge'", true, true
	preDNAT.Spec.Ingress = []resources.Rule{{Action: resources.ActionDeny, Source: resources.EntityRule{Nets: []string{"198.51.100.0/24"}}}}
	for _, pol := range []*resources.GlobalNetworkPolicy{untracked, preDNAT} {
		pol.Default()
		if err := pol.Validate(); err != nil {
			return nil, err
		}
		ups = append(ups, model.UpdateOf(pol))
	}
	m := calc.NewModel()
	m.Apply(model.SyncEvent{Full: true, Updates: ups})
	return m, nil
}
