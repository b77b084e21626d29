package driver

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func createNetReq(id, pool, profile string) network.CreateNetworkRequest {
	generic := map[string]any{}
	if profile != "" {
		generic[OptProfile] = profile
	}
	return network.CreateNetworkRequest{
		NetworkID: id,
		Options:   map[string]any{optEnableIPv6: false, optGeneric: generic},
		IPv4Data:  []*network.IPAMData{{AddressSpace: "CalicoLocalAddressSpace", Pool: pool, Gateway: "0.0.0.0/0"}},
	}
}

func TestActivateAndCapabilities(t *testing.T) {
	h := newHarness(t, nil)
	code, body := h.call("/Plugin.Activate", "")
	if code != http.StatusOK || !strings.Contains(body, `"NetworkDriver"`) {
		t.Fatalf("activate: %d %s", code, body)
	}
	var caps network.CapabilitiesResponse
	h.mustCall("/NetworkDriver.GetCapabilities", struct{}{}, &caps)
	if caps.Scope != "local" || caps.ConnectivityScope != "local" {
		t.Errorf("capabilities = %+v, want local scope", caps)
	}
}

// TestBadRequestsChangeNothing sends malformed and invalid requests and
// checks each gets a clear error and leaves etcd untouched. The strict
// decoding cases match the IPAM socket's (ipamdriver TestRequestPoolRefusals).
func TestBadRequestsChangeNothing(t *testing.T) {
	h := newHarness(t, nil)
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "10.231.0.0/16", "dev"), nil)
	ep := `"NetworkID":"` + testNetID + `","EndpointID":"` + testEPID + `"`
	tests := []struct {
		name, path, body, want string
		status                 int
	}{
		// Decoding: refused before the driver sees the request.
		{"malformed JSON", "/NetworkDriver.CreateNetwork", `{"NetworkID":`, "malformed request body: unexpected EOF", http.StatusBadRequest},
		{"wrong type", "/NetworkDriver.CreateNetwork", `{"NetworkID":7}`, "CreateNetworkRequest.NetworkID of type string", http.StatusBadRequest},
		{"wrong nested type", "/NetworkDriver.CreateEndpoint", `{` + ep + `,"Interface":{"Address":["10.231.0.1/32"]}}`,
			"EndpointInterface.Interface.Address of type string", http.StatusBadRequest},
		{"unknown field", "/NetworkDriver.CreateNetwork", `{"NetworkID":"` + testNetID + `","Future":{"x":1}}`, `unknown field "Future"`, http.StatusBadRequest},
		{"unknown nested field", "/NetworkDriver.CreateNetwork",
			`{"NetworkID":"` + testNetID + `","IPv4Data":[{"Pool":"10.231.0.0/16","Gateway":"0.0.0.0/0","Extra":true}]}`, `unknown field "Extra"`, http.StatusBadRequest},
		{"trailing data", "/NetworkDriver.DeleteNetwork", `{"NetworkID":"` + testNetID + `"}{}`, "data after the JSON object", http.StatusBadRequest},
		{"not an object", "/NetworkDriver.Join", `["NetworkID"]`, "must be a JSON object", http.StatusBadRequest},
		{"null", "/NetworkDriver.DeleteEndpoint", `null`, "must be a JSON object", http.StatusBadRequest},
		{"empty", "/NetworkDriver.Leave", ``, "must be a JSON object", http.StatusBadRequest},
		{"too large", "/NetworkDriver.CreateEndpoint", `{"NetworkID":"` + strings.Repeat("a", MaxRequestBytes) + `"}`, "larger than 65536 bytes", http.StatusBadRequest},
		{"unknown method", "/NetworkDriver.Teleport", `{}`, "unknown plugin request POST /NetworkDriver.Teleport", http.StatusNotFound},
		{"wrong HTTP method", "/NetworkDriver.CreateNetwork", "GET", "unknown plugin request GET", http.StatusMethodNotAllowed},
		// Missing required fields.
		{"no network ID", "/NetworkDriver.CreateNetwork", `{"IPv4Data":[{"Pool":"10.231.0.0/16","Gateway":"0.0.0.0/0"}]}`, "NetworkID is missing", http.StatusInternalServerError},
		{"no endpoint ID", "/NetworkDriver.CreateEndpoint", `{"NetworkID":"` + testNetID + `","Interface":{"Address":"10.231.0.1/32"}}`, "EndpointID is missing", http.StatusInternalServerError},
		{"no interface", "/NetworkDriver.CreateEndpoint", `{` + ep + `}`, "has no address", http.StatusInternalServerError},
		{"no sandbox", "/NetworkDriver.Join", `{` + ep + `}`, "SandboxKey is missing", http.StatusInternalServerError},
		{"leave without endpoint", "/NetworkDriver.Leave", `{"NetworkID":"` + testNetID + `"}`, "EndpointID is missing", http.StatusInternalServerError},
		{"delete without network", "/NetworkDriver.DeleteNetwork", `{}`, "NetworkID is missing", http.StatusInternalServerError},
		// Valid JSON the driver refuses.
		{"unknown --opt", "/NetworkDriver.CreateNetwork",
			`{"NetworkID":"` + testNetID + `","Options":{"com.docker.network.generic":{"color":"blue"}},"IPv4Data":[{"Pool":"0.0.0.0/0","Gateway":"0.0.0.0/0"}]}`,
			"does not know the option(s) color; accepted --opt keys: org.projectcalico.namespace", http.StatusInternalServerError},
		{"default IPAM", "/NetworkDriver.CreateNetwork",
			`{"NetworkID":"` + testNetID + `","IPv4Data":[{"AddressSpace":"LocalDefault","Pool":"172.18.0.0/16","Gateway":"172.18.0.1/16"}]}`,
			"--ipam-driver calico-ipam", http.StatusInternalServerError},
		{"endpoint of unknown network", "/NetworkDriver.CreateEndpoint",
			`{"NetworkID":"b` + testNetID[1:] + `","EndpointID":"` + testEPID + `","Interface":{"Address":"10.231.0.1/32"}}`,
			"was not created by this calico driver", http.StatusInternalServerError},
		{"endpoint without address", "/NetworkDriver.CreateEndpoint", `{` + ep + `,"Interface":{}}`, "has no address", http.StatusInternalServerError},
		{"bad address", "/NetworkDriver.CreateEndpoint", `{` + ep + `,"Interface":{"Address":"10.231.0.1"}}`, "is not an IPv4 CIDR", http.StatusInternalServerError},
		{"bad MAC", "/NetworkDriver.CreateEndpoint", `{` + ep + `,"Interface":{"Address":"10.231.0.1/32","MacAddress":"zz"}}`, "not an Ethernet address", http.StatusInternalServerError},
		{"bad endpoint ID", "/NetworkDriver.CreateEndpoint",
			`{"NetworkID":"` + testNetID + `","EndpointID":"x/../y","Interface":{"Address":"10.231.0.1/32"}}`,
			"not a Docker ID", http.StatusInternalServerError},
		{"join unknown endpoint", "/NetworkDriver.Join", `{` + ep + `,"SandboxKey":"/var/run/docker/netns/x"}`,
			"is unknown to the calico driver", http.StatusInternalServerError},
		{"swarm allocate", "/NetworkDriver.AllocateNetwork", `{"NetworkID":"` + testNetID + `"}`, "swarm", http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := h.revision()
			code, body := h.call(tc.path, tc.body)
			if tc.body == "GET" {
				code, body = h.get(tc.path)
			}
			var e network.ErrorResponse
			if code != tc.status || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Err, tc.want) {
				t.Errorf("got HTTP %d %s, want %d and an Err containing %q", code, body, tc.status, tc.want)
			}
			if after := h.revision(); after != before {
				t.Errorf("etcd revision moved from %d to %d: the bad request wrote something", before, after)
			}
		})
	}
}

// TestIdempotentDeletes: Docker may repeat deletes (e.g. after a daemon
// restart); removing what is already gone succeeds.
func TestIdempotentDeletes(t *testing.T) {
	h := newHarness(t, nil)
	for range 2 {
		h.mustCall("/NetworkDriver.Leave", network.LeaveRequest{NetworkID: testNetID, EndpointID: testEPID}, nil)
		h.mustCall("/NetworkDriver.DeleteEndpoint", network.DeleteEndpointRequest{NetworkID: testNetID, EndpointID: testEPID}, nil)
		h.mustCall("/NetworkDriver.DeleteNetwork", network.DeleteNetworkRequest{NetworkID: testNetID}, nil)
	}
}

func TestCreateNetworkStoresRecordAndProfile(t *testing.T) {
	h := newHarness(t, nil)
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "10.231.0.0/16", "dev"), nil)
	rec, err := h.drv.records.get(h.ctx(), testNetID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Profile != "dev" || len(rec.IPv4Pools) != 1 || rec.IPv4Pools[0] != "10.231.0.0/16" {
		t.Errorf("record = %+v", rec)
	}
	p, err := datastore.GetAs[*resources.Profile](h.ctx(), h.store, "", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.LabelsToApply["dev"] != "" || len(p.Spec.Ingress) != 1 || p.Spec.Ingress[0].Source.Selector != "has(dev)" ||
		len(p.Spec.Egress) != 1 || p.Spec.Egress[0].Action != resources.ActionAllow {
		t.Errorf("profile = %+v", p.Spec)
	}
	// A second network sharing the profile leaves it as the user may have edited it.
	p.Spec.Egress = nil
	if _, err := h.store.Update(h.ctx(), p); err != nil {
		t.Fatal(err)
	}
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testEPID, "10.232.0.0/16", "dev"), nil)
	p2, _ := datastore.GetAs[*resources.Profile](h.ctx(), h.store, "", "dev")
	if len(p2.Spec.Egress) != 0 {
		t.Errorf("an existing profile was rewritten: %+v", p2.Spec)
	}
	// Deleting a network keeps the (shared) profile.
	h.mustCall("/NetworkDriver.DeleteNetwork", network.DeleteNetworkRequest{NetworkID: testNetID}, nil)
	if _, err := h.drv.records.get(h.ctx(), testNetID); !errors.Is(err, ErrUnknownNetwork) {
		t.Errorf("record still there after DeleteNetwork: %v", err)
	}
	if _, err := datastore.GetAs[*resources.Profile](h.ctx(), h.store, "", "dev"); err != nil {
		t.Errorf("profile gone after DeleteNetwork: %v", err)
	}
}

// TestProfileDefaultsToNetworkName: Docker answers for the network only
// once CreateNetwork has returned; the driver learns the name afterwards.
func TestProfileDefaultsToNetworkName(t *testing.T) {
	h := newHarness(t, nil)
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "0.0.0.0/0", ""), nil)
	rec, err := h.drv.records.get(h.ctx(), testNetID)
	if err != nil || rec.Profile != "" || !rec.ProfileFromName {
		t.Fatalf("record before the name is known = %+v, %v", rec, err)
	}
	h.docker.AddNetwork(testNetID, "net1")
	testenv.Eventually(t, 5*time.Second, 20*time.Millisecond, func() error {
		if _, err := datastore.GetAs[*resources.Profile](h.ctx(), h.store, "", "net1"); err != nil {
			return err
		}
		rec, err := h.drv.records.get(h.ctx(), testNetID)
		if err != nil {
			return err
		}
		if rec.Profile != "net1" || rec.Name != "net1" {
			return errors.New("record not completed: " + rec.Profile + "/" + rec.Name)
		}
		return nil
	})
}

// TestUnusableNetworkNameNeedsProfileOption: a Docker network name that
// cannot be a profile name makes the first endpoint fail with advice.
func TestUnusableNetworkNameNeedsProfileOption(t *testing.T) {
	h := newHarness(t, nil)
	h.addPool("10.231.0.0/16")
	h.docker.AddNetwork(testNetID, "net_")
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "10.231.0.0/16", ""), nil)
	addr := h.allocate("10.231.0.0/16")
	msg := h.callErr("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{
		NetworkID: testNetID, EndpointID: testEPID, Interface: &network.EndpointInterface{Address: addr}})
	if !strings.Contains(msg, "--opt org.projectcalico.profile=NAME") {
		t.Errorf("error %q does not say how to fix it", msg)
	}
	if _, err := h.store.Get(h.ctx(), resources.KindWorkloadEndpoint, "", WorkloadEndpointName(testNode, testEPID)); !errors.Is(err, datastore.ErrNotFound) {
		t.Errorf("a WorkloadEndpoint was stored: %v", err)
	}
}
