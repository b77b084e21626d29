package driver

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/docker/go-plugins-helpers/network"
)

const (
	testNetID = "e88ccbdf4f3292dcadc7bfc6b223e95f6c709df6ef2379ae5d442086891de153"
	testEPID  = "ca604582ea2684d87c2cee9ac4fa2f0b63d82f591ecb1761c22f09df3e2a2af7"
)

// createNetworkJSON is a CreateNetwork request as Docker 20.10 sends it for
// `docker network create --driver calico --ipam-driver calico-ipam
// --opt org.projectcalico.profile=dev net1` (captured on this engine).
const createNetworkJSON = `{"NetworkID":"` + testNetID + `","Options":{"com.docker.network.enable_ipv6":false,` +
	`"com.docker.network.generic":{"org.projectcalico.profile":"dev"}},` +
	`"IPv4Data":[{"AddressSpace":"CalicoLocalAddressSpace","Gateway":"0.0.0.0/0","Pool":"0.0.0.0/0"}],"IPv6Data":[]}`

func decodeCreateNetwork(t *testing.T, s string) *network.CreateNetworkRequest {
	t.Helper()
	var req network.CreateNetworkRequest
	if err := json.Unmarshal([]byte(s), &req); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return &req
}

func TestParseCreateNetwork(t *testing.T) {
	v4 := func(pool, gw string) []*network.IPAMData {
		return []*network.IPAMData{{AddressSpace: "CalicoLocalAddressSpace", Pool: pool, Gateway: gw}}
	}
	generic := func(kv ...string) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return map[string]any{optEnableIPv6: false, optGeneric: m}
	}
	tests := []struct {
		name        string
		req         network.CreateNetworkRequest
		wantProfile string
		wantPools   []string
		wantErr     string // substring; "" = success
	}{
		{name: "no subnet", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic(), IPv4Data: v4("0.0.0.0/0", "0.0.0.0/0")},
			wantPools: []string{"0.0.0.0/0"}},
		{name: "subnet and profile", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic(OptProfile, "dev"), IPv4Data: v4("10.1.0.0/16", "0.0.0.0/0")},
			wantProfile: "dev", wantPools: []string{"10.1.0.0/16"}},
		{name: "nil options", req: network.CreateNetworkRequest{NetworkID: testNetID, IPv4Data: v4("10.1.0.0/16", "0.0.0.0/0")},
			wantPools: []string{"10.1.0.0/16"}},
		{name: "unknown opt", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic("foo", "bar"), IPv4Data: v4("0.0.0.0/0", "0.0.0.0/0")},
			wantErr: "does not know the option(s) foo; accepted --opt keys: org.projectcalico.namespace"},
		{name: "mtu opt", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic("com.docker.network.mtu", "1400"), IPv4Data: v4("0.0.0.0/0", "0.0.0.0/0")},
			wantErr: "com.docker.network.mtu"},
		{name: "bad profile", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic(OptProfile, "dev_"), IPv4Data: v4("0.0.0.0/0", "0.0.0.0/0")},
			wantErr: "start and end with a letter or digit"},
		{name: "profile with slash", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic(OptProfile, "a/b"), IPv4Data: v4("0.0.0.0/0", "0.0.0.0/0")},
			wantErr: "must not contain '/'"},
		{name: "internal", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: map[string]any{optInternal: true}, IPv4Data: v4("0.0.0.0/0", "0.0.0.0/0")},
			wantErr: "--internal"},
		{name: "other ipam driver", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic(), IPv4Data: v4("172.18.0.0/16", "172.18.0.1/16")},
			wantErr: "--ipam-driver calico-ipam"},
		{name: "user gateway", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic(), IPv4Data: v4("10.1.0.0/16", "10.1.0.1/32")},
			wantErr: "without --gateway"},
		{name: "no pools", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic()},
			wantErr: "no address pool"},
		{name: "bad pool", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic(), IPv4Data: v4("10.1.0.0", "0.0.0.0/0")},
			wantErr: "not a CIDR"},
		{name: "bad network id", req: network.CreateNetworkRequest{NetworkID: "../etc", Options: generic(), IPv4Data: v4("0.0.0.0/0", "0.0.0.0/0")},
			wantErr: "not a Docker ID"},
		{name: "unknown top-level option set", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: map[string]any{"com.docker.network.foo": "x"}, IPv4Data: v4("0.0.0.0/0", "0.0.0.0/0")},
			wantErr: "com.docker.network.foo"},
		{name: "generic not a map", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: map[string]any{optGeneric: "x"}, IPv4Data: v4("0.0.0.0/0", "0.0.0.0/0")},
			wantErr: "must be a map"},
		{name: "nil pool data", req: network.CreateNetworkRequest{NetworkID: testNetID, Options: generic(), IPv4Data: []*network.IPAMData{nil}},
			wantErr: "empty IPv4 pool data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseCreateNetwork(&tc.req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if o.profile != tc.wantProfile || !slices.Equal(o.ipv4Pools, tc.wantPools) {
				t.Errorf("got profile %q pools %v, want %q %v", o.profile, o.ipv4Pools, tc.wantProfile, tc.wantPools)
			}
		})
	}
}

func TestParseCreateNetworkCaptured(t *testing.T) {
	o, err := parseCreateNetwork(decodeCreateNetwork(t, createNetworkJSON))
	if err != nil {
		t.Fatal(err)
	}
	if o.profile != "dev" || o.ipv6 || !slices.Equal(o.ipv4Pools, []string{"0.0.0.0/0"}) {
		t.Errorf("got %+v", o)
	}
}

func TestValidateProfileName(t *testing.T) {
	for name, ok := range map[string]bool{
		"dev": true, "PROF_GROUP1": true, "net-1.a": true, "a": true,
		"": false, "dev_": false, "-dev": false, "a/b": false, "a b": false, strings.Repeat("a", 64): false,
	} {
		if err := ValidateProfileName(name); (err == nil) != ok {
			t.Errorf("ValidateProfileName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}
