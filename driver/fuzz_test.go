package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/pluginhttp"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// FuzzCreateNetwork feeds arbitrary request bodies through the handler's
// strict decoding and the driver's validation: it must never panic, and whatever
// it accepts must be usable.
func FuzzCreateNetwork(f *testing.F) {
	f.Add(createNetworkJSON)
	f.Add(`{"NetworkID":"` + testNetID + `","Options":{"com.docker.network.generic":{"foo":1}},"IPv4Data":[null]}`)
	f.Add(`{"NetworkID":"` + testNetID + `","Options":{"com.docker.network.internal":true},"IPv6Data":[{"Pool":"::/0","Gateway":"::/0"}]}`)
	f.Add(`{"Options":{"com.docker.network.enable_ipv6":"yes"}}`)
	f.Add(`{"NetworkID":"` + testNetID + `","Options":{"com.docker.network.generic":{"org.projectcalico.namespace":"staging"}},` +
		`"IPv4Data":[{"Pool":"0.0.0.0/0","Gateway":"0.0.0.0/0"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req network.CreateNetworkRequest
		if pluginhttp.DecodeBody([]byte(body), &req) != nil {
			return
		}
		o, err := parseCreateNetwork(&req)
		if err != nil {
			return
		}
		if o.profile != "" && ValidateProfileName(o.profile) != nil {
			t.Errorf("accepted invalid profile %q", o.profile)
		}
		if o.namespace != "" {
			w := resources.NewWorkloadEndpoint("w")
			w.Namespace = o.namespace
			if err := w.Validate(); err != nil && strings.Contains(err.Error(), "namespace") {
				t.Errorf("accepted namespace %q that a WorkloadEndpoint refuses: %v", o.namespace, err)
			}
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
		if pluginhttp.DecodeBody([]byte(body), &req) != nil {
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

// FuzzHandler throws arbitrary bodies at every network-driver request
// through the handler's strict decoding and the driver: it must never
// panic, must answer JSON, a failure must carry an Err, and a refused
// request must leave what etcd stores unchanged (compared by content: a
// failed Join undoes its write, which moves the revision). Veths are a
// stand-in that fails (the fuzzer must not make kernel objects); etcd is
// real.
func FuzzHandler(f *testing.F) {
	ep := `"NetworkID":"` + testNetID + `","EndpointID":"` + testEPID + `"`
	seeds := []string{
		createNetworkJSON, `{"NetworkID":"` + testNetID + `"}`, `{` + ep + `}`,
		`{` + ep + `,"Interface":{"Address":"10.231.0.12/32","AddressIPv6":"","MacAddress":""},"Options":{}}`,
		`{` + ep + `,"SandboxKey":"/var/run/docker/netns/x","Options":null}`,
		`{"DiscoveryType":1,"DiscoveryData":{"Address":"10.0.0.1"}}`, `{"NetworkID":"` + testNetID + `","Options":{"a":"b"}}`,
		``, `{`, `null`, `[]`, `{"NetworkID":1}`, `{"NetworkID":"x"}{}`, `{"Unknown":true}`, "\x00\xff",
		`{"NetworkID":"` + testNetID + `","IPv4Data":[{"Pool":"10.0.0.0/8","AuxAddresses":{"a":1}}]}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	_, cli := testenv.StartEtcd(f)
	store := datastore.New(cli)
	drv, err := New(Config{Node: testNode, Store: store, IPAM: ipam.New(store, testNode),
		Veths: failingVeths{errors.New("no veths while fuzzing")}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(drv.Close)
	h := drv.Handler()
	paths := append([]string{"Plugin.Activate", "NetworkDriver.Unknown"}, methods...)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		path := "/" + paths[int(which)%len(paths)]
		if !strings.HasPrefix(path, "/Plugin") && !strings.HasSuffix(path, "Unknown") {
			path = "/NetworkDriver." + strings.TrimPrefix(path, "/")
		}
		before := stored(t, store)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s answered %d with non-JSON %q", path, rec.Code, rec.Body.String())
		}
		if rec.Code == http.StatusOK {
			return
		}
		if msg, _ := out["Err"].(string); msg == "" {
			t.Fatalf("%s answered %d without an Err: %v", path, rec.Code, out)
		}
		if after := stored(t, store); !maps.Equal(after, before) {
			t.Fatalf("%s %q: refused (%v) but etcd changed", path, body, out["Err"])
		}
	})
}

// stored returns every key under /calico/ with its value.
func stored(t *testing.T, store *datastore.Store) map[string]string {
	t.Helper()
	kvs, _, err := store.ListKeys(context.Background(), "/calico/", false)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = string(kv.Value)
	}
	return m
}
