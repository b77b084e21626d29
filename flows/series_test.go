package flows

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/calico-docker/calico-libnetwork/internal/seeds"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// egressWatch is a second policy: book's egress to port 80 (rule 0) and
// the rest of its egress (rule 1), allowed.
const egressWatch = `---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: egress-watch}
spec:
  selector: biz_type == 'bookstore' && !has(role)
  types: [Egress]
  egress:
  - {action: Allow, protocol: TCP, destination: {ports: [80]}}
  - {action: Allow}
`

// policySeries lists the calico_flow_policy_packets_total series as
// "kind/name rule direction action", sorted.
func policySeries(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		if f.GetName() != "calico_flow_policy_packets_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			out = append(out, l["kind"]+"/"+l["name"]+" "+l["rule"]+" "+l["direction"]+" "+l["action"])
		}
	}
	slices.Sort(out)
	return out
}

// TestDeletedPolicySeriesGo: once the policy model no longer has a rule,
// its packet and byte series go — a policy's rules shrinking takes the
// series past its last rule, a deleted policy or profile takes all of
// its own — while every other series stays with its count; a row closed
// after its policy was deleted makes no new series.
func TestDeletedPolicySeriesGo(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	c, table := setup(t, Config{Metrics: m}, egressWatch)
	np := seeds.BookstorePolicyName
	watch := prefixOf(t, table, "allow", "egress", "egress-watch", 0)
	observe := func() {
		c.Observe(pkt("10.0.0.4", "10.0.0.2", 40000, 80, prefixOf(t, table, "deny", "ingress", np, 1)))
		c.Observe(pkt("10.0.0.3", "10.0.0.2", 41000, 80, prefixOf(t, table, "allow", "ingress", np, 0)))
		c.Observe(pkt("10.0.0.3", "10.0.0.2", 41000, 80, watch))
		c.Observe(pkt("10.0.0.4", "10.0.0.2", 40000, 80, prefixOf(t, table, "allow", "egress", "store", 0)))
		c.Close(time.Now())
	}
	observe()
	all := []string{"GlobalNetworkPolicy/egress-watch 0 egress allow", "NetworkPolicy/" + np + " 0 ingress allow",
		"NetworkPolicy/" + np + " 1 ingress deny", "Profile/store 0 egress allow"}
	check := func(what string, want ...string) {
		t.Helper()
		if got := policySeries(t, reg); !slices.Equal(got, want) {
			t.Errorf("%s: series\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if n := testutil.CollectAndCount(m.policyBytes); n != len(want) {
			t.Errorf("%s: %d byte series, want %d", what, n, len(want))
		}
	}
	check("all recorded", all...)

	shrunk := decodeOne(t, seeds.BookstorePolicy).(*resources.NetworkPolicy)
	shrunk.Spec.Ingress = shrunk.Spec.Ingress[:1]
	c.Directory().OnSyncEvent(model.SyncEvent{Updates: []model.Update{model.UpdateOf(shrunk)}})
	check("rules shrank", all[0], all[1], all[3])

	c.Directory().OnSyncEvent(model.SyncEvent{Updates: []model.Update{{Kind: resources.KindGlobalNetworkPolicy, Name: "egress-watch"}}})
	check("policy deleted", all[1], all[3])
	if got := testutil.ToFloat64(m.policyPackets.WithLabelValues("default", "NetworkPolicy", "default", np, "0", "ingress", "allow")); got != 1 {
		t.Errorf("the kept series counts %v packets, want 1", got)
	}

	c.Observe(pkt("10.0.0.3", "10.0.0.2", 41001, 80, watch)) // decided just before the deletion
	c.Close(time.Now())
	check("a late row of the deleted policy", all[1], all[3])

	c.Directory().OnSyncEvent(model.SyncEvent{Updates: []model.Update{{Kind: resources.KindProfile, Name: "store"}}})
	check("profile deleted", all[1])
}

func decodeOne(t *testing.T, yaml string) resources.Resource {
	t.Helper()
	objs, err := resources.DecodeBytes([]byte(yaml))
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode: %v (%d objects)", err, len(objs))
	}
	objs[0].Default()
	return objs[0]
}

// TestDeletedEndpointSeriesGo: an endpoint's denied-packets series go
// with the last endpoint of its name (a second endpoint of the same
// container keeps them); a row closed after its endpoint was deleted makes
// no new series; other series stay.
func TestDeletedEndpointSeriesGo(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	c, table := setup(t, Config{Metrics: m}, "")
	deny := prefixOf(t, table, "deny", "ingress", seeds.BookstorePolicyName, 1)
	denied := func() int { return testutil.CollectAndCount(m.endpointDenied) }
	second := resources.NewWorkloadEndpoint("h1-server-net2") // the server container on another network
	second.Spec.Node, second.Spec.Workload, second.Spec.IPNetworks = "h1", "server", []string{"10.0.0.12/32"}
	c.Directory().OnSyncEvent(model.SyncEvent{Updates: []model.Update{model.UpdateOf(second)}})

	c.Observe(pkt("10.0.0.4", "10.0.0.2", 40000, 80, deny))
	c.Close(time.Now())
	if n := denied(); n != 1 {
		t.Fatalf("%d endpoint series after a denied packet, want 1", n)
	}
	policies := testutil.CollectAndCount(m.policyPackets)
	deleteEndpoint := func(name string) {
		c.Directory().OnSyncEvent(model.SyncEvent{Updates: []model.Update{{Kind: resources.KindWorkloadEndpoint,
			Namespace: resources.DefaultNamespace, Name: name}}})
	}
	deleteEndpoint("h1-fruit")
	deleteEndpoint("h1-server")
	if n := denied(); n != 1 {
		t.Errorf("%d endpoint series while the server's second endpoint lives, want 1", n)
	}
	deleteEndpoint("h1-server-net2")
	if n := denied(); n != 0 {
		t.Errorf("%d endpoint series after the server's last endpoint went, want 0", n)
	}
	if n := testutil.CollectAndCount(m.policyPackets); n != policies {
		t.Errorf("policy series %d, want %d (unchanged)", n, policies)
	}

	// A late row: observed while book's endpoint lived, closed after.
	c.Observe(pkt("10.0.0.4", "10.0.0.3", 40002, 80, deny))
	deleteEndpoint("h1-book")
	c.Close(time.Now())
	if n := denied(); n != 0 {
		t.Errorf("%d endpoint series after a late row of a deleted endpoint, want 0", n)
	}
}
