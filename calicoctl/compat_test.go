package calicoctl

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/classic"
	"github.com/calico-docker/calico-libnetwork/calicoctl/ipam"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
)

// The names and attributes ipam check relies on are the drivers' own.
func TestDriverContracts(t *testing.T) {
	if h := driver.Handle("abc"); h != ipam.EndpointHandlePrefix+"abc" {
		t.Errorf("driver.Handle = %q, ipam check expects prefix %q", h, ipam.EndpointHandlePrefix)
	}
	if ipamdriver.HandlePrefix != ipam.ProvisionalHandlePrefix || ipamdriver.AttrRequestedAt != ipam.AttrRequestedAt {
		t.Errorf("ipamdriver handle prefix %q / attribute %q changed: update ipam_audit.go", ipamdriver.HandlePrefix, ipamdriver.AttrRequestedAt)
	}
	if !strings.HasPrefix(driver.WorkloadEndpointName("h", "e"), "h-") {
		t.Errorf("unexpected endpoint name %q", driver.WorkloadEndpointName("h", "e"))
	}
}

// A profile the classic commands create is the one a Docker network gets.
func TestDefaultProfileIsTheDriverProfile(t *testing.T) {
	got, _ := json.Marshal(classic.DefaultProfile("PROF_GROUP1"))
	want, _ := json.Marshal(driver.NewNetworkProfile("PROF_GROUP1"))
	if string(got) != string(want) {
		t.Errorf("defaultProfile:\n%s\ndriver.NewNetworkProfile:\n%s", got, want)
	}
}
