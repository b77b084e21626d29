package calc

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// TestHostEndpointPolicies: which policies select a host endpoint for
// each kind of traffic, its effective labels, and its expectedIPs in rule
// selectors' members.
func TestHostEndpointPolicies(t *testing.T) {
	m := buildModel(t, doc(
		"kind: Profile\nmetadata: {name: edge}\nspec: {labelsToApply: {zone: dmz, role: profile}}\n",
		"kind: HostEndpoint\nmetadata: {name: h1-eth0, labels: {role: worker}}\nspec: {node: h1, interfaceName: eth0, expectedIPs: [10.0.0.1], profiles: [edge]}\n",
		"kind: GlobalNetworkPolicy\nmetadata: {name: normal}\nspec: {selector: role == 'worker', ingress: [{action: Allow}]}\n",
		"kind: GlobalNetworkPolicy\nmetadata: {name: fwd}\nspec: {order: 1, selector: zone == 'dmz', applyOnForward: true, ingress: [{action: Allow}], egress: [{action: Allow}]}\n",
		"kind: GlobalNetworkPolicy\nmetadata: {name: prednat}\nspec: {selector: all(), applyOnForward: true, preDNAT: true, ingress: [{action: Deny}]}\n",
		"kind: GlobalNetworkPolicy\nmetadata: {name: untracked}\nspec: {selector: global(), applyOnForward: true, doNotTrack: true, ingress: [{action: Allow}]}\n",
		"kind: NetworkPolicy\nmetadata: {name: namespaced, namespace: default}\nspec: {selector: all(), ingress: [{action: Allow}]}\n",
	))
	heps := m.LocalHostEndpoints("h1")
	if len(heps) != 1 || len(m.LocalHostEndpoints("h2")) != 0 {
		t.Fatalf("local host endpoints: %v", heps)
	}
	h := heps[0]
	if h.Labels["role"] != "worker" || h.Labels["zone"] != "dmz" || h.Labels[LabelNamespace] != "" {
		t.Errorf("labels %v: want own over profile's, no namespace", h.Labels)
	}
	names := func(kind HostPolicyKind, dir Direction) []string {
		var out []string
		for _, p := range m.HostPoliciesFor(h, kind, dir) {
			out = append(out, p.Name)
		}
		return out
	}
	for _, tc := range []struct {
		kind HostPolicyKind
		dir  Direction
		want []string
	}{
		{HostNormal, Ingress, []string{"fwd", "normal"}}, // order 1 first; the namespaced one never
		{HostNormal, Egress, []string{"fwd"}},
		{HostForward, Ingress, []string{"fwd"}},
		{HostPreDNAT, Ingress, []string{"prednat"}},
		{HostPreDNAT, Egress, nil},
		{HostUntracked, Ingress, []string{"untracked"}},
	} {
		if got := names(tc.kind, tc.dir); !slices.Equal(got, tc.want) {
			t.Errorf("kind %d %s: %v, want %v", tc.kind, tc.dir, got, tc.want)
		}
	}
	// Host-only policies never reach workloads.
	w := wep("w", "10.65.0.1", nil, map[string]string{"role": "worker"})
	m.Update(model.UpdateOf(w))
	for _, p := range m.PoliciesFor(m.Endpoint("default/w"), Ingress) {
		if p.PreDNAT || p.DoNotTrack {
			t.Errorf("workload selected by host-only policy %s", p.Name)
		}
	}
	sel, _ := selector.Parse("zone == 'dmz'")
	if got := m.Members(sel); !slices.Contains(got, netip.MustParsePrefix("10.0.0.1/32")) {
		t.Errorf("members of zone == 'dmz' = %v: want the host endpoint's expected IP", got)
	}
	m.Update(model.Update{Kind: resources.KindHostEndpoint, Name: "h1-eth0"})
	if len(m.HostEndpoints()) != 0 || len(m.Members(sel)) != 0 {
		t.Errorf("host endpoint not removed: %v", m.HostEndpoints())
	}
}
