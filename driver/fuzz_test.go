package driver

import (
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/docker/go-plugins-helpers/network"
)

// FuzzCreateNetwork feeds arbitrary request bodies through the decoding
// Docker's requests take (go-plugins-helpers decodes JSON into the request
// struct) and the driver's validation: it must never panic, and whatever
// it accepts must be usable.
func FuzzCreateNetwork(f *testing.F) {
	f.Add(createNetworkJSON)
	f.Add(`{"NetworkID":"` + testNetID + `","Options":{"com.docker.network.generic":{"foo":1}},"IPv4Data":[null]}`)
	f.Add(`{"NetworkID":"` + testNetID + `","Options":{"com.docker.network.internal":true},"IPv6Data":[{"Pool":"::/0","Gateway":"::/0"}]}`)
	f.Add(`{"Options":{"com.docker.network.enable_ipv6":"yes"}}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req network.CreateNetworkRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		o, err := parseCreateNetwork(&req)
		if err != nil {
			return
		}
		if o.profile != "" && ValidateProfileName(o.profile) != nil {
			t.Errorf("accepted invalid profile %q", o.profile)
		}
		for _, p := range append(append([]string{}, o.ipv4Pools...), o.ipv6Pools...) {
			if _, err := netip.ParsePrefix(p); err != nil {
				t.Errorf("accepted pool %q: %v", p, err)
			}
		}
	})
}

// FuzzCreateEndpoint does the same for CreateEndpoint requests.
func FuzzCreateEndpoint(f *testing.F) {
	f.Add(`{"NetworkID":"` + testNetID + `","EndpointID":"` + testEPID + `","Interface":{"Address":"10.231.0.12/32","AddressIPv6":"","MacAddress":""},"Options":{"com.docker.network.endpoint.exposedports":[],"com.docker.network.portmap":[]}}`)
	f.Add(`{"NetworkID":"` + testNetID + `","EndpointID":"` + testEPID + `","Interface":{"Address":"::ffff:1.2.3.4/128","MacAddress":"zz"}}`)
	f.Add(`{"NetworkID":"` + testNetID + `","EndpointID":"` + testEPID + `"}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req network.CreateEndpointRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		ep, err := parseCreateEndpoint(&req)
		if err != nil {
			return
		}
		if len(ep.addrs) == 0 || len(ep.mac) != 6 {
			t.Errorf("accepted endpoint without address or MAC: %+v", ep)
		}
		for _, a := range ep.addrs {
			if a.Bits() != a.Addr().BitLen() {
				t.Errorf("address %s is not a host route", a)
			}
		}
	})
}
