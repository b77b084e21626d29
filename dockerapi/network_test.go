package dockerapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// engine2010Network is how dockerd 20.10 reports a dual-stack network whose
// IPAM driver handed out the gateways (calico-ipam without --subnet): the
// IPv6 gateway comes as a CIDR, which the moby API types refuse.
const engine2010Network = `{"Name":"net6","Id":"abc","Driver":"calico","EnableIPv6":true,
"IPAM":{"Driver":"calico-ipam","Options":{},"Config":[{"Subnet":"0.0.0.0/0","Gateway":"0.0.0.0"},{"Subnet":"::/0","Gateway":"::/0"}]},
"Containers":{"c0ffee":{"Name":"web","EndpointID":"e1","MacAddress":"ee:ee:ee:ee:ee:ee",
"IPv4Address":"192.168.0.1/32","IPv6Address":"fd00:10:231::1/128"}},"Options":{},"Labels":{}}`

// fakeEngine serves engine2010Network for /networks/abc (any API version)
// and 404 for other networks, on a unix socket. It stands in for an old
// engine's quirk the test engine only shows with calico-ipam.
func fakeEngine(t *testing.T) string {
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/_ping"):
			_, _ = w.Write([]byte("OK"))
		case strings.HasSuffix(r.URL.Path, "/networks/abc"):
			_, _ = w.Write([]byte(engine2010Network))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"network not found"}`))
		}
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

func TestNetworkWithCIDRGateway(t *testing.T) {
	c, err := New(fakeEngine(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if name, err := c.NetworkName(ctx, "abc"); err != nil || name != "net6" {
		t.Errorf("NetworkName = %q, %v; want net6", name, err)
	}
	eps, err := c.NetworkEndpoints(ctx, "abc")
	if err != nil || eps["e1"] != (EndpointOwner{ContainerID: "c0ffee", ContainerName: "web"}) {
		t.Errorf("NetworkEndpoints = %v, %v", eps, err)
	}
	if _, err := c.NetworkName(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown network: err = %v, want ErrNotFound", err)
	}
}
