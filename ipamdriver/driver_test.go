package ipamdriver

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	dipam "github.com/docker/go-plugins-helpers/ipam"
)

func TestActivateCapabilitiesAddressSpaces(t *testing.T) {
	e := newEnv(t)
	if got := e.ok("Plugin.Activate", ""); got["Implements"].([]any)[0] != "IpamDriver" {
		t.Fatalf("Activate = %v", got)
	}
	// Docker sends these with an empty body.
	if got := e.ok("IpamDriver.GetCapabilities", ""); got["RequiresMACAddress"] != false {
		t.Fatalf("GetCapabilities = %v", got)
	}
	got := e.ok("IpamDriver.GetDefaultAddressSpaces", "")
	if got["LocalDefaultAddressSpace"] != LocalAddressSpace || got["GlobalDefaultAddressSpace"] != GlobalAddressSpace {
		t.Fatalf("GetDefaultAddressSpaces = %v", got)
	}
}

func TestRequestPoolWithoutSubnet(t *testing.T) {
	e := newEnv(t)
	e.fails("IpamDriver.RequestPool", poolReq("", "", false), "no enabled IPv4 IP pool", "calicoctl apply")
	e.addPool("default-ipv4-ippool", "192.168.0.0/16")
	got := e.ok("IpamDriver.RequestPool", poolReq("", "", false))
	if got["PoolID"] != PoolIDV4 || got["Pool"] != "0.0.0.0/0" || got["Data"].(map[string]any)[GatewayKey] != "0.0.0.0/0" {
		t.Fatalf("RequestPool = %v", got)
	}
	e.fails("IpamDriver.RequestPool", poolReq("", "", true), "no enabled IPv6 IP pool")
	e.addPool("v6", "fd00:10::/64")
	got = e.ok("IpamDriver.RequestPool", poolReq("", "", true))
	if got["PoolID"] != PoolIDV6 || got["Pool"] != "::/0" || got["Data"].(map[string]any)[GatewayKey] != "::/0" {
		t.Fatalf("RequestPool v6 = %v", got)
	}
	// Docker 20.10 sends Options as null when there are none.
	e.ok("IpamDriver.RequestPool", `{"AddressSpace":"CalicoLocalAddressSpace","Pool":"","SubPool":"","Options":null,"V6":false}`)
}

func TestRequestPoolWithSubnet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addPool("default-ipv4-ippool", "192.168.0.0/16")
	e.addPool("off", "10.9.0.0/16", func(p *resources.IPPool) { p.Spec.Disabled = true })
	// Equal to a pool: that pool, no write.
	rev := e.revision()
	got := e.ok("IpamDriver.RequestPool", poolReq("192.168.0.0/16", "", false))
	if got["PoolID"] != "192.168.0.0/16" || got["Pool"] != "192.168.0.0/16" || got["Data"].(map[string]any)[GatewayKey] != "0.0.0.0/0" {
		t.Fatalf("RequestPool = %v", got)
	}
	if e.revision() != rev {
		t.Fatal("RequestPool of an existing pool wrote to etcd")
	}
	// In no pool: a pool is created, and a second network reuses it.
	for range 2 {
		got = e.ok("IpamDriver.RequestPool", poolReq("10.1.0.0/16", "", false))
		if got["PoolID"] != "10.1.0.0/16" || got["Pool"] != "10.1.0.0/16" {
			t.Fatalf("RequestPool = %v", got)
		}
	}
	p, err := datastore.GetAs[*resources.IPPool](ctx, e.store, "", "docker-10-1-0-0-16")
	if err != nil || p.Spec.CIDR != "10.1.0.0/16" || !p.Spec.NATOutgoing || p.Spec.BlockSize != 26 || p.Annotations[CreatedByAnnotation] == "" {
		t.Fatalf("created pool = %+v, %v", p, err)
	}
	// A subnet smaller than a block gets a pool whose block is the subnet.
	e.ok("IpamDriver.RequestPool", poolReq("10.2.0.0/28", "", false))
	if p, _ := datastore.GetAs[*resources.IPPool](ctx, e.store, "", "docker-10-2-0-0-28"); p == nil || p.Spec.BlockSize != 28 {
		t.Fatalf("small subnet pool = %+v", p)
	}
	e.ok("IpamDriver.RequestPool", poolReq("fd00:20::/64", "", true))
	if _, err := datastore.GetAs[*resources.IPPool](ctx, e.store, "", "docker-fd00-20---64"); err != nil {
		t.Fatalf("v6 subnet pool: %v", err)
	}
	e.fails("IpamDriver.RequestPool", poolReq("192.168.5.0/24", "", false), "overlaps IP pool default-ipv4-ippool (192.168.0.0/16)", "--subnet 192.168.0.0/16")
	e.fails("IpamDriver.RequestPool", poolReq("192.0.0.0/8", "", false), "overlaps IP pool default-ipv4-ippool")
	e.fails("IpamDriver.RequestPool", poolReq("10.9.0.0/16", "", false), "disabled", "spec.disabled")
	e.fails("IpamDriver.RequestPool", poolReq("10.50.0.0/31", "", false), "too small")
}

func TestRequestPoolRefusals(t *testing.T) {
	e := newEnv(t)
	e.addPool("default-ipv4-ippool", "192.168.0.0/16")
	tests := []struct {
		name, body string
		want       []string
	}{
		{"ip-range", poolReq("192.168.0.0/16", "192.168.1.0/24", false), []string{"--ip-range 192.168.1.0/24", "not supported"}},
		{"ipam-opt", `{"AddressSpace":"CalicoLocalAddressSpace","Pool":"","Options":{"foo":"bar","a":"b"},"V6":false}`, []string{`unknown --ipam-opt "a", "foo"`}},
		{"address space", `{"AddressSpace":"OtherSpace","Pool":"","V6":false}`, []string{`unknown address space "OtherSpace"`}},
		{"bad cidr", poolReq("10.1.0.0/33", "", false), []string{"not a CIDR"}},
		{"host bits", poolReq("10.1.2.3/16", "", false), []string{"host bits", "10.1.0.0/16"}},
		{"family mismatch", poolReq("10.1.0.0/16", "", true), []string{"not an IPv6 subnet"}},
		{"malformed json", `{"AddressSpace":`, []string{"malformed request body"}},
		{"unknown field", `{"AddressSpace":"CalicoLocalAddressSpace","Pool":"","Gateway":"10.0.0.1"}`, []string{`unknown field "Gateway"`}},
		{"wrong type", `{"V6":"yes"}`, []string{"malformed request body"}},
		{"trailing data", poolReq("", "", false) + `{}`, []string{"data after the JSON object"}},
		{"not an object", `["Pool"]`, []string{"must be a JSON object"}},
		{"null", `null`, []string{"must be a JSON object"}},
		{"empty", ``, []string{"must be a JSON object"}},
		{"too large", `{"Pool":"` + strings.Repeat("x", MaxRequestBytes) + `"}`, []string{"larger than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.t = t
			e.fails("IpamDriver.RequestPool", tt.body, tt.want...)
		})
	}
}

func TestRequestAndReleaseAddress(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addPool("default-ipv4-ippool", "192.168.0.0/16")
	e.ok("IpamDriver.RequestPool", poolReq("", "", false))
	// Auto-assignment answers a /32 and records a provisional handle.
	got := e.ok("IpamDriver.RequestAddress", addrReq(PoolIDV4, "", nil))
	addr := netip.MustParsePrefix(got["Address"].(string))
	if addr.Bits() != 32 || !netip.MustParsePrefix("192.168.0.0/16").Contains(addr.Addr()) {
		t.Fatalf("RequestAddress = %v", got)
	}
	hs, _ := e.alloc.Handles(ctx)
	if len(hs) != 1 || !strings.HasPrefix(hs[0].Handle, HandlePrefix) || hs[0].IPs[0] != addr.Addr() {
		t.Fatalf("handles = %+v", hs)
	}
	bs, _ := e.alloc.Blocks(ctx)
	at := bs[0].Allocations[0].Attrs
	if at["node"] != "host1" || at[AttrRequestedAt] == "" || at[AttrPoolID] != PoolIDV4 {
		t.Fatalf("attrs = %v", at)
	}
	// The network driver re-owns it to the endpoint at CreateEndpoint.
	if err := e.alloc.SetHandle(ctx, addr.Addr(), "endpoint-abc", map[string]string{"network": "net1"}); err != nil {
		t.Fatal(err)
	}
	e.ok("IpamDriver.ReleaseAddress", relReq(PoolIDV4, addr.Addr().String()))
	// A repeated release (its first answer lost) succeeds and changes nothing.
	rev0 := e.revision()
	e.ok("IpamDriver.ReleaseAddress", relReq(PoolIDV4, addr.Addr().String()))
	if e.revision() != rev0 {
		t.Fatalf("a repeated release wrote to etcd")
	}
	if ips, _ := e.alloc.IPsByHandle(ctx, "endpoint-abc"); len(ips) != 0 {
		t.Fatalf("endpoint handle still holds %v", ips)
	}
	// The gateway request consumes nothing; a user --gateway is refused.
	rev := e.revision()
	got = e.ok("IpamDriver.RequestAddress", addrReq(PoolIDV4, "", map[string]string{RequestAddressTypeKey: GatewayKey}))
	if got["Address"] != "0.0.0.0/0" || e.revision() != rev {
		t.Fatalf("gateway request = %v (revision %d -> %d)", got, rev, e.revision())
	}
	e.fails("IpamDriver.RequestAddress", addrReq(PoolIDV4, "192.168.0.1", map[string]string{RequestAddressTypeKey: GatewayKey}), "--gateway 192.168.0.1", "remove --gateway")
	// Docker releases the dummy gateway when the network goes away.
	e.ok("IpamDriver.ReleaseAddress", relReq(PoolIDV4, "0.0.0.0"))
	e.ok("IpamDriver.ReleasePool", `{"PoolID":"CalicoPoolIPv4"}`)
	if n := e.allocated(); n != 0 {
		t.Fatalf("%d addresses left", n)
	}
}

func TestExplicitAddress(t *testing.T) {
	e := newEnv(t)
	ok := e.ok("IpamDriver.RequestPool", poolReq("10.1.0.0/16", "", false))
	id := ok["PoolID"].(string)
	got := e.ok("IpamDriver.RequestAddress", addrReq(id, "10.1.7.7", nil))
	if got["Address"] != "10.1.7.7/32" {
		t.Fatalf("RequestAddress --ip = %v", got)
	}
	e.fails("IpamDriver.RequestAddress", addrReq(id, "10.1.7.7", nil), "10.1.7.7 is already in use", HandlePrefix)
	e.fails("IpamDriver.RequestAddress", addrReq(id, "10.2.0.1", nil), "outside the network's subnet 10.1.0.0/16")
	e.fails("IpamDriver.RequestAddress", addrReq(id, "not-an-ip", nil), "not an IP address")
	e.fails("IpamDriver.RequestAddress", addrReq(id, "fd00::1", nil), "not an IPv4 address")
	// Auto-assignment on a --subnet network stays in its pool.
	e.addPool("other", "10.200.0.0/16")
	for range 3 {
		a := netip.MustParsePrefix(e.ok("IpamDriver.RequestAddress", addrReq(id, "", nil))["Address"].(string))
		if !netip.MustParsePrefix("10.1.0.0/16").Contains(a.Addr()) {
			t.Fatalf("got %s outside the network's subnet", a)
		}
	}
	e.ok("IpamDriver.ReleaseAddress", relReq(id, "10.1.7.7"))
	e.ok("IpamDriver.ReleaseAddress", relReq(id, "10.1.7.7"))
	e.fails("IpamDriver.ReleaseAddress", relReq(id, "10.3.0.1"), "outside the network's subnet")
}

func TestIPv6Address(t *testing.T) {
	e := newEnv(t)
	e.addPool("v6", "fd00:10::/64")
	e.ok("IpamDriver.RequestPool", poolReq("", "", true))
	got := e.ok("IpamDriver.RequestAddress", addrReq(PoolIDV6, "", nil))
	a := netip.MustParsePrefix(got["Address"].(string))
	if a.Bits() != 128 || !netip.MustParsePrefix("fd00:10::/64").Contains(a.Addr()) {
		t.Fatalf("v6 address = %v", got)
	}
	if g := e.ok("IpamDriver.RequestAddress", addrReq(PoolIDV6, "", map[string]string{RequestAddressTypeKey: GatewayKey})); g["Address"] != "::/0" {
		t.Fatalf("v6 gateway = %v", g)
	}
	e.ok("IpamDriver.ReleaseAddress", relReq(PoolIDV6, "::"))
	e.ok("IpamDriver.ReleaseAddress", relReq(PoolIDV6, a.Addr().String()))
}

func TestUnknownPoolIDsAndOptions(t *testing.T) {
	e := newEnv(t)
	e.addPool("default-ipv4-ippool", "192.168.0.0/16")
	for _, id := range []string{"", "CalicoPoolIPv5", "bridge-pool", "10.1.2.3/16", "LocalDefault/172.17.0.0/16"} {
		e.fails("IpamDriver.RequestAddress", addrReq(id, "", nil), "unknown pool id")
		e.fails("IpamDriver.ReleaseAddress", relReq(id, "192.168.0.1"), "unknown pool id")
		e.fails("IpamDriver.ReleasePool", `{"PoolID":"`+id+`"}`, "unknown pool id")
	}
	// A subnet pool id whose pool was deleted.
	e.fails("IpamDriver.RequestAddress", addrReq("10.44.0.0/16", "", nil), "no IP pool has CIDR 10.44.0.0/16")
	e.ok("IpamDriver.ReleasePool", `{"PoolID":"10.44.0.0/16"}`) // nothing to release
	e.fails("IpamDriver.RequestAddress", addrReq(PoolIDV4, "", map[string]string{"foo": "bar"}), `unknown address options "foo"`)
	e.fails("IpamDriver.RequestAddress", addrReq(PoolIDV4, "", map[string]string{RequestAddressTypeKey: "weird"}), "unsupported RequestAddressType")
	e.fails("IpamDriver.RequestAddress", `{"PoolID":"CalicoPoolIPv4","Address":"","Options":{},"Extra":1}`, `unknown field "Extra"`)
	e.fails("IpamDriver.ReleaseAddress", `{"PoolID":"CalicoPoolIPv4",`, "malformed")
	e.fails("IpamDriver.ReleasePool", `{"PoolID":7}`, "malformed")
	// The MAC option is tolerated (Docker adds it for drivers that ask).
	e.ok("IpamDriver.RequestAddress", addrReq(PoolIDV4, "", map[string]string{MACAddressKey: "ee:ee:ee:ee:ee:ee"}))
	// Exhaustion is a clear error too.
	e.addPool("tiny", "10.77.0.0/30", func(p *resources.IPPool) { p.Spec.BlockSize = 30 })
	for range 4 {
		e.ok("IpamDriver.RequestAddress", addrReq("10.77.0.0/30", "", nil))
	}
	e.fails("IpamDriver.RequestAddress", addrReq("10.77.0.0/30", "", nil), "no free address", "tiny")
}

func TestWrongHTTPMethodAndPath(t *testing.T) {
	e := newEnv(t)
	req, _ := e.http.Get("http://plugin/IpamDriver.RequestPool")
	if req.StatusCode != 405 {
		t.Fatalf("GET = %d, want 405", req.StatusCode)
	}
	req.Body.Close()
	resp, err := e.http.Post("http://plugin/IpamDriver.Nope", "application/json", strings.NewReader("{}"))
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown method = %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestGoPluginsHelpersHandler: the Driver also works behind
// go-plugins-helpers' own handler (lenient decoding, same answers).
func TestGoPluginsHelpersHandler(t *testing.T) {
	e := newEnvWith(t, func(d *Driver) server { return dipam.NewHandler(d) })
	e.addPool("default-ipv4-ippool", "192.168.0.0/16")
	if got := e.ok("IpamDriver.RequestPool", poolReq("", "", false)); got["PoolID"] != PoolIDV4 {
		t.Fatalf("RequestPool = %v", got)
	}
	a := e.ok("IpamDriver.RequestAddress", addrReq(PoolIDV4, "", nil))["Address"].(string)
	e.ok("IpamDriver.ReleaseAddress", relReq(PoolIDV4, strings.TrimSuffix(a, "/32")))
	e.fails("IpamDriver.RequestPool", poolReq("", "10.0.0.0/24", false), "--ip-range")
	if e.allocated() != 0 {
		t.Fatal("address left allocated")
	}
}
