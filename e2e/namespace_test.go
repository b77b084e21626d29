package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestNamespacedNetworkSet: a network created with --opt
// org.projectcalico.namespace=staging puts its containers in staging, so a
// NetworkPolicy of staging selects them and a NetworkSet of staging, by
// label, admits the clients whose addresses it lists; updating the set's
// nets moves the admission; the same set in another namespace admits
// nobody. Real engine, daemon and calicoctl.
func TestNamespacedNetworkSet(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool, subnetPool)
	d := startDaemon(t, e.host)
	net := e.network("staging", "--opt", "org.projectcalico.namespace=staging")
	server := e.name("web")
	t.Cleanup(func() { _, _ = e.try("rm", "-f", server) })
	e.must("run", "-d", "--name", server, "--net", net, "--label", "org.projectcalico.label.app=web",
		testenv.TestImage(), "sh", "-c", "mkdir -p /www && echo hubfeu2yculh > /www/id && exec httpd -f -p 80 -h /www")
	a := e.run("client-a", "--net", net)
	b := e.run("client-b", "--net", net)
	url := "http://" + e.ip(server, net) + ":80/id"
	e.fetch(a, url, true) // the network's profile admits its members
	e.fetch(b, url, true)

	apply := func(yaml string) {
		t.Helper()
		f := filepath.Join(t.TempDir(), "r.yaml")
		if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		ctl(t, d, "apply", "-f", f)
	}
	set := func(ns, ip string) string {
		return fmt.Sprintf("apiVersion: projectcalico.org/v3\nkind: NetworkSet\nmetadata: {name: db-clients, namespace: %s, labels: {role: db}}\n"+
			"spec: {nets: [%s/32]}\n", ns, ip)
	}
	apply(`apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: from-db-clients, namespace: staging}
spec:
  selector: app == 'web'
  types: [Ingress]
  ingress: [{action: Allow, protocol: TCP, source: {selector: role == 'db'}}]
`)
	e.fetch(a, url, false) // selected by staging's policy: end-of-tier drop
	apply(set("staging", e.ip(a, net)))
	e.fetch(a, url, true)
	e.fetch(b, url, false)
	apply(set("staging", e.ip(b, net)))
	e.fetch(a, url, false)
	e.fetch(b, url, true)
	ctl(t, d, "delete", "networkset", "db-clients", "-n", "staging")
	apply(set("production", e.ip(b, net)))
	e.fetch(b, url, false)
	if out := ctl(t, d, "get", "workloadendpoints", "-n", "staging", "-o", "yaml"); !strings.Contains(out, "app: web") {
		t.Errorf("the server's WorkloadEndpoint is not in namespace staging:\n%s", out)
	}
}

// TestIPReservation: on a real engine, `docker run --ip` of a reserved
// address fails with Docker showing the reservation's name, and automatic
// assignment passes over the reserved addresses.
func TestIPReservation(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool, subnetPool)
	d := startDaemon(t, e.host)
	f := filepath.Join(t.TempDir(), "r.yaml")
	yaml := "apiVersion: projectcalico.org/v3\nkind: IPReservation\nmetadata: {name: keep-out}\nspec: {reservedCIDRs: [10.231.0.0/30]}\n"
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctl(t, d, "apply", "-f", f)
	net := e.network("res", "--subnet", subnetPool)
	name := e.name("reserved")
	t.Cleanup(func() { _, _ = e.try("rm", "-f", name) })
	out, err := e.try("run", "-d", "--name", name, "--net", net, "--ip", "10.231.0.1", testenv.TestImage(), "sleep", "600")
	if err == nil || !strings.Contains(out+err.Error(), `IPReservation "keep-out"`) {
		t.Fatalf("docker run --ip of a reserved address: %v\n%s", err, out)
	}
	c := e.run("auto", "--net", net)
	if ip := e.ip(c, net); ip == "10.231.0.0" || ip == "10.231.0.1" || ip == "10.231.0.2" || ip == "10.231.0.3" {
		t.Errorf("automatic assignment handed out reserved %s", ip)
	}
}
