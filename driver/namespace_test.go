package driver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func TestParseNamespaceOpt(t *testing.T) {
	for _, ok := range []string{"production", "staging", "a", "team-1", strings.Repeat("a", 63)} {
		if ns, err := parseNamespaceOpt(ok); err != nil || ns != ok {
			t.Errorf("%q: %q, %v", ok, ns, err)
		}
	}
	for _, bad := range []any{"", "Production", "team_a", "-a", "a-", "a.b", strings.Repeat("a", 64), 7, true} {
		_, err := parseNamespaceOpt(bad)
		if err == nil || !strings.Contains(err.Error(), "--opt "+OptNamespace) || !strings.Contains(err.Error(), "namespace") {
			t.Errorf("%v: error %v, want one naming --opt %s", bad, err, OptNamespace)
		}
	}
}

// namespacedNetReq is createNetReq with --opt org.projectcalico.namespace=ns.
func namespacedNetReq(id, pool, profile, ns string) network.CreateNetworkRequest {
	req := createNetReq(id, pool, profile)
	req.Options[optGeneric].(map[string]any)[OptNamespace] = ns
	return req
}

// TestBadNamespaceOptionStoresNothing: an invalid namespace is refused at
// `docker network create`, naming the option and the fix; etcd is unchanged.
func TestBadNamespaceOptionStoresNothing(t *testing.T) {
	h := newHarness(t, failingVeths{errors.New("no veths needed")})
	h.addPool("10.232.0.0/16")
	rev := h.revision()
	msg := h.callErr("/NetworkDriver.CreateNetwork", namespacedNetReq(testNetID, "10.232.0.0/16", "dev", "Team_A"))
	for _, want := range []string{"--opt org.projectcalico.namespace=Team_A", "RFC 1123", "recreate the network"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if now := h.revision(); now != rev {
		t.Errorf("a refused CreateNetwork wrote to etcd (revision %d -> %d)", rev, now)
	}
}

// getEndpointIn reads an endpoint of this node from namespace ns.
func getEndpointIn(t *testing.T, h *harness, ns, ep string) (*resources.WorkloadEndpoint, error) {
	t.Helper()
	return datastore.GetAs[*resources.WorkloadEndpoint](h.ctx(), h.store, ns, WorkloadEndpointName(testNode, ep))
}

// TestNamespacedNetwork: a network created with --opt
// org.projectcalico.namespace=production stores its endpoints in
// production, through Join, the container's labels (also after a daemon
// restart, when the driver knows the endpoint only by ID) and
// DeleteEndpoint.
func TestNamespacedNetwork(t *testing.T) {
	h := newHarness(t, nil)
	h.addPool("10.231.0.0/16")
	h.mustCall("/NetworkDriver.CreateNetwork", namespacedNetReq(testNetID, "10.231.0.0/16", "dev", "production"), nil)
	h.docker.AddNetwork(testNetID, "net1")
	addr := h.allocate("10.231.0.0/16")
	h.mustCall("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: testNetID, EndpointID: testEPID,
		Interface: &network.EndpointInterface{Address: addr}}, nil)
	sb := newSandbox(t)
	h.mustCall("/NetworkDriver.Join", network.JoinRequest{NetworkID: testNetID, EndpointID: testEPID, SandboxKey: sb.path}, nil)
	w, err := getEndpointIn(t, h, "production", testEPID)
	if err != nil || !labelsPending(w) {
		t.Fatalf("endpoint in production: %v, %v", w, err)
	}
	if _, err := getEndpointIn(t, h, resources.DefaultNamespace, testEPID); !errors.Is(err, datastore.ErrNotFound) {
		t.Fatalf("endpoint also in default: %v", err)
	}

	// A restart: the new driver knows the endpoint by ID and network only.
	h.drv.Close()
	drv := h.restartWithContainer(strings.Repeat("d", 64), "db", map[string]string{LabelPrefix + "role": "database"})
	testenv.Eventually(t, 15*time.Second, 10*time.Millisecond, func() error {
		w, err := getEndpointIn(t, h, "production", testEPID)
		if err != nil {
			return err
		}
		if labelsPending(w) || w.Labels["role"] != "database" {
			return errors.New("labels not applied yet")
		}
		return nil
	})
	if err := drv.Leave(h.ctx(), &network.LeaveRequest{NetworkID: testNetID, EndpointID: testEPID}); err != nil {
		t.Fatal(err)
	}
	if err := drv.DeleteEndpoint(h.ctx(), &network.DeleteEndpointRequest{NetworkID: testNetID, EndpointID: testEPID}); err != nil {
		t.Fatal(err)
	}
	if _, err := getEndpointIn(t, h, "production", testEPID); !errors.Is(err, datastore.ErrNotFound) {
		t.Fatalf("endpoint left in production after DeleteEndpoint: %v", err)
	}
}
