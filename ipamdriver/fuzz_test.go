package ipamdriver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var fuzzMethods = []string{
	"IpamDriver.RequestPool", "IpamDriver.ReleasePool", "IpamDriver.RequestAddress",
	"IpamDriver.ReleaseAddress", "IpamDriver.GetCapabilities", "IpamDriver.GetDefaultAddressSpaces", "Plugin.Activate",
}

// FuzzRequestDecoding throws arbitrary bodies at every endpoint: the
// handler must never panic, must answer JSON, and a refused request must
// leave etcd unchanged.
func FuzzRequestDecoding(f *testing.F) {
	seeds := []string{
		poolReq("", "", false), poolReq("", "", true), poolReq("10.1.0.0/16", "", false), poolReq("192.168.0.0/16", "10.0.0.0/24", false),
		`{"AddressSpace":"CalicoLocalAddressSpace","Pool":"","Options":{"a":"b"},"V6":false}`,
		`{"PoolID":"CalicoPoolIPv4"}`, `{"PoolID":"10.1.0.0/16"}`, `{"PoolID":"nope"}`,
		addrReq(PoolIDV4, "", nil), addrReq("192.168.0.0/16", "192.168.3.3", nil), addrReq(PoolIDV4, "", map[string]string{RequestAddressTypeKey: GatewayKey}),
		relReq(PoolIDV4, "192.168.0.1"), relReq(PoolIDV4, "0.0.0.0"), relReq(PoolIDV6, "::"),
		``, `{`, `null`, `[]`, `{"Pool":1}`, `{"PoolID":"CalicoPoolIPv4"}{}`, `{"Unknown":true}`, "\x00\xff", `{"Address":"1.2.3.4%eth0","PoolID":"CalicoPoolIPv4"}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	_, cli := testenv.StartEtcd(f)
	store := datastore.New(cli)
	for name, cidr := range map[string]string{"default-ipv4-ippool": "192.168.0.0/16", "v6": "fd00:10::/64"} {
		p := resources.NewIPPool(name)
		p.Spec.CIDR = cidr
		if _, err := store.Create(context.Background(), p); err != nil {
			f.Fatal(err)
		}
	}
	h := New(ipam.New(store, "fuzz-host"), store).Handler()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		method := fuzzMethods[int(which)%len(fuzzMethods)]
		before := rev(t, cli)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+method, strings.NewReader(string(body))))
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s answered %d with non-JSON %q", method, rec.Code, rec.Body.String())
		}
		if rec.Code == http.StatusOK {
			return
		}
		if msg, _ := out["Err"].(string); msg == "" {
			t.Fatalf("%s answered %d without an Err: %v", method, rec.Code, out)
		}
		if after := rev(t, cli); after != before {
			t.Fatalf("%s %q: refused (%v) but etcd changed (revision %d -> %d)", method, body, out["Err"], before, after)
		}
	})
}

func rev(t *testing.T, cli *clientv3.Client) int64 {
	resp, err := cli.Get(context.Background(), "/calico/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header.Revision
}
