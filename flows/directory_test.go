package flows

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// TestDirectory: workload endpoints by address with their container name,
// Docker network name and labels; unknown addresses as "net" pvt/pub;
// a deleted endpoint is forgotten.
func TestDirectory(t *testing.T) {
	ups := bookstore(t, "")
	d := NewDirectory(func(id string) string { return map[string]string{"netid1": "store"}[id] })
	d.OnSyncEvent(model.SyncEvent{Full: true, Updates: ups})
	got := d.Endpoint(netip.MustParseAddr("10.0.0.4"))
	if got.Kind != "wep" || got.Name != "fruit" || got.Network != "store" || got.Node != "h1" || got.Labels["biz_type"] != "fruitstore" {
		t.Errorf("fruit: %+v", got)
	}
	for addr, want := range map[string]string{"192.168.1.1": "pvt", "8.8.8.8": "pub", "fd00::1": "pvt", "2001:db8::1": "pub"} {
		if e := d.Endpoint(netip.MustParseAddr(addr)); e.Kind != "net" || e.Name != want || e.IP != addr {
			t.Errorf("%s: %+v, want net %s", addr, e, want)
		}
	}
	if n := len(d.Endpoints()); n != 3 {
		t.Errorf("%d endpoints, want 3", n)
	}
	gone := model.UpdateOf(resources.NewWorkloadEndpoint("h1-fruit"))
	gone.Object = nil
	d.OnSyncEvent(model.SyncEvent{Updates: []model.Update{gone}})
	if e := d.Endpoint(netip.MustParseAddr("10.0.0.4")); e.Kind != "net" {
		t.Errorf("deleted endpoint still known: %+v", e)
	}
}

const namedYAML = `
---
apiVersion: projectcalico.org/v3
kind: HostEndpoint
metadata:
  name: h1-eth0
  labels: {role: gateway}
spec:
  node: h1
  interfaceName: eth0
  expectedIPs: [10.0.9.1]
---
apiVersion: projectcalico.org/v3
kind: GlobalNetworkSet
metadata:
  name: partners
  labels: {trust: partner}
spec:
  nets: [198.51.100.0/24]
---
apiVersion: projectcalico.org/v3
kind: NetworkSet
metadata:
  name: partner-api
  namespace: default
  labels: {trust: high}
spec:
  nets: [198.51.100.0/28]
`

// TestDirectoryNamed: host endpoints (by expected IP) and network sets
// (the most specific net wins) are reported by name with their labels,
// as Calico's flow logs do, not as "net"; a deleted set is forgotten.
func TestDirectoryNamed(t *testing.T) {
	d := NewDirectory(nil)
	d.OnSyncEvent(model.SyncEvent{Full: true, Updates: bookstore(t, namedYAML)})
	for addr, want := range map[string]Endpoint{
		"10.0.9.1":       {Kind: "hep", Name: "h1-eth0", Node: "h1", Labels: map[string]string{"role": "gateway"}},
		"198.51.100.7":   {Kind: "netset", Name: "partner-api", Namespace: "default", Labels: map[string]string{"trust": "high"}},
		"198.51.100.200": {Kind: "netset", Name: "partners", Labels: map[string]string{"trust": "partner"}},
		"203.0.113.1":    {Kind: "net", Name: "pub"},
	} {
		got := d.Endpoint(netip.MustParseAddr(addr))
		if got.Kind != want.Kind || got.Name != want.Name || got.Namespace != want.Namespace || got.Node != want.Node ||
			got.IP != addr || fmt.Sprint(got.Labels) != fmt.Sprint(want.Labels) {
			t.Errorf("%s: %+v, want %+v", addr, got, want)
		}
	}
	gone := model.UpdateOf(resources.NewNetworkSet("partner-api"))
	gone.Namespace, gone.Object = "default", nil
	d.OnSyncEvent(model.SyncEvent{Updates: []model.Update{gone}})
	if e := d.Endpoint(netip.MustParseAddr("198.51.100.7")); e.Name != "partners" {
		t.Errorf("deleted network set still names 198.51.100.7: %+v", e)
	}
}
