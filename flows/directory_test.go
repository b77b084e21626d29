package flows

import (
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
