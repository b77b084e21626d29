package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/driver"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Pools: the daemon's default pool (no --subnet) and a --subnet network.
const (
	defaultPool = "192.168.0.0/16"
	subnetPool  = "10.231.0.0/16"
)

// TestDocker is one scenario on a real engine, in order: networks of both
// kinds, containers, connectivity, --ip, two networks on one container, a
// daemon restart, and removal leaving no allocation behind.
func TestDocker(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool, subnetPool)
	d := startDaemon(t, e.host)

	netA := e.network("a")
	netB := e.network("b", "--subnet", subnetPool, "--opt", "org.projectcalico.profile=dev")
	c1 := e.run("c1", "--net", netA)
	c2 := e.run("c2", "--net", netA)
	c3 := e.run("c3", "--net", netB, "--ip", "10.231.7.7")
	ip1, ip2 := e.ip(c1, netA), e.ip(c2, netA)

	t.Run("container interface", func(t *testing.T) { checkWorkloadSide(t, e, c1, ip1) })
	t.Run("explicit ip", func(t *testing.T) {
		if got := e.ip(c3, netB); got != "10.231.7.7" {
			t.Errorf("--ip 10.231.7.7 gave %s", got)
		}
		out := e.must("run", "--rm", "--net", netB, "--ip", "10.231.7.8", testenv.TestImage(), "ip", "-o", "-4", "addr", "show", "cali0")
		if !strings.Contains(out, "inet 10.231.7.8/32") {
			t.Errorf("one-off container with --ip 10.231.7.8: %s", out)
		}
	})
	t.Run("same network", func(t *testing.T) {
		e.pingFrom(c1, ip2)
		e.pingFrom(c2, ip1)
	})
	t.Run("from host", func(t *testing.T) {
		pingFromHost(t, ip1)
		pingFromHost(t, "10.231.7.7")
	})
	t.Run("profiles", func(t *testing.T) { checkProfiles(t, d, netA) })
	t.Run("two calico networks", func(t *testing.T) { checkTwoNetworks(t, e, c1, c3, netB) })
	t.Run("two calico networks at start", func(t *testing.T) { checkTwoNetworksAtStart(t, e, netA, netB, ip2) })
	t.Run("isolation between networks", func(t *testing.T) {
		// c1 is on both networks by now; c2 is on a only, c3 on b only.
		e.cannotReach(c2, "10.231.7.7")
		e.cannotReach(c3, ip2)
		e.pingFrom(c2, ip1) // the same network still works
		e.pingFrom(c3, e.ip(c1, netB))
	})
	t.Run("daemon restart", func(t *testing.T) { checkRestart(t, e, d, c1, c2, ip1, ip2, netA) })
	t.Run("removal frees everything", func(t *testing.T) {
		for _, c := range []string{c1, c2, c3, e.name("c4"), e.name("c5")} {
			e.must("rm", "-f", c)
		}
		e.must("network", "rm", netA, netB)
		checkNothingLeft(t, d)
	})
}

// checkWorkloadSide: one interface cali0 with a /32, default via
// 169.254.1.1, nothing of docker_gwbridge.
func checkWorkloadSide(t *testing.T, e *engine, c, ip string) {
	links, err := e.exec(c, "ip", "-o", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(links, "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0])
		}
	}
	if strings.Join(names, ",") != "lo,cali0" {
		t.Errorf("container interfaces = %v, want lo and cali0 only (no docker_gwbridge eth1)", names)
	}
	addrs, _ := e.exec(c, "ip", "-o", "-4", "addr", "show", "cali0")
	if !strings.Contains(addrs, "inet "+ip+"/32 ") {
		t.Errorf("cali0 addresses: %s, want %s/32", addrs, ip)
	}
	routes, _ := e.exec(c, "ip", "-4", "route")
	if !regexp.MustCompile(`(?m)^default via 169\.254\.1\.1 dev cali0`).MatchString(routes) ||
		!regexp.MustCompile(`(?m)^169\.254\.1\.1 dev cali0 .*scope link`).MatchString(routes) {
		t.Errorf("container routes:\n%s\nwant default via 169.254.1.1 dev cali0 and an on-link 169.254.1.1", routes)
	}
	if out, err := hostCmd(t, "ip", "link", "show", "docker_gwbridge"); err == nil {
		t.Errorf("host has a docker_gwbridge: %s", out)
	}
}

// checkProfiles: the default profile is the network name, the --opt one is
// dev; both admit their own members only.
func checkProfiles(t *testing.T, d *daemon, netA string) {
	store := datastore.New(d.etcd())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range []string{netA, "dev"} {
		p, err := datastore.GetAs[*resources.Profile](ctx, store, "", name)
		if err != nil {
			t.Errorf("profile %s: %v", name, err)
			continue
		}
		if _, ok := p.Spec.LabelsToApply[name]; !ok || len(p.Spec.Ingress) != 1 || p.Spec.Ingress[0].Source.Selector != "has("+name+")" {
			t.Errorf("profile %s spec = %+v", name, p.Spec)
		}
	}
}

// checkTwoNetworks connects c1 to a second calico network: the old plugin
// failed with "error setting interface routes to [169.254.1.1/32]: file
// exists". Both interfaces must work, and traffic to the second network
// must leave by cali1 with c1's address on that network.
func checkTwoNetworks(t *testing.T, e *engine, c1, c3, netB string) {
	e.must("network", "connect", netB, c1)
	ipB := e.ip(c1, netB)
	route, err := e.exec(c1, "ip", "route", "get", "10.231.7.7")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(route, "dev cali1") || !strings.Contains(route, "src "+ipB) {
		t.Errorf("route from c1 to 10.231.7.7: %q, want dev cali1 src %s", route, ipB)
	}
	if routes, _ := e.exec(c1, "ip", "-4", "route"); strings.Count(routes, "default") != 1 {
		t.Errorf("c1 has more than one default route:\n%s", routes)
	}
	e.pingFrom(c1, "10.231.7.7")
	e.pingFrom(c3, ipB)
	pingFromHost(t, ipB)
}

// checkTwoNetworksAtStart attaches two calico networks before the
// container starts: Docker joins both endpoints before the container's
// namespace exists, so the driver must tell them apart without it.
func checkTwoNetworksAtStart(t *testing.T, e *engine, netA, netB, ipA string) {
	c5 := e.name("c5")
	t.Cleanup(func() { _, _ = e.try("rm", "-f", c5) })
	e.must("create", "--name", c5, "--net", netA, testenv.TestImage(), "sleep", "600")
	e.must("network", "connect", netB, c5)
	e.must("start", c5)
	routes, _ := e.exec(c5, "ip", "-4", "route")
	for _, want := range []string{"169.254.1.1 dev cali", "169.254.1.2 dev cali", "default via 169.254.1."} {
		if !strings.Contains(routes, want) {
			t.Errorf("c5 routes lack %q:\n%s", want, routes)
		}
	}
	e.pingFrom(c5, ipA)
	e.pingFrom(c5, "10.231.7.7")
	pingFromHost(t, e.ip(c5, netA))
	pingFromHost(t, e.ip(c5, netB))
}

// checkRestart stops the daemon: running containers keep connectivity
// while it is down and after it is back; nothing it stored is lost, and a
// new container works.
func checkRestart(t *testing.T, e *engine, d *daemon, c1, c2, ip1, ip2, netA string) {
	d.stop()
	e.pingFrom(c1, ip2)
	pingFromHost(t, ip1)
	d.start()
	e.pingFrom(c2, ip1)
	c4 := e.run("c4", "--net", netA)
	ip4 := e.ip(c4, netA)
	if ip4 == ip1 || ip4 == ip2 {
		t.Errorf("new container got an address already in use: %s", ip4)
	}
	e.pingFrom(c4, ip1)
	pingFromHost(t, ip4)
}

// checkNothingLeft: no allocation, endpoint or network record remains.
func checkNothingLeft(t *testing.T, d *daemon) { checkLeft(t, d, true) }

// checkNoAddressesLeft is checkNothingLeft for a network Docker still
// has: its record stays, but no address, handle or endpoint may.
func checkNoAddressesLeft(t *testing.T, d *daemon) { checkLeft(t, d, false) }

func checkLeft(t *testing.T, d *daemon, networks bool) {
	cli := d.etcd()
	store := datastore.New(cli)
	alloc := ipam.New(store, "calico-e2e")
	testenv.Eventually(t, 20*time.Second, 200*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		blocks, err := alloc.Blocks(ctx)
		if err != nil {
			return err
		}
		for _, b := range blocks {
			if len(b.Allocations) > 0 {
				return fmt.Errorf("block %s still has allocations %v", b.CIDR, b.Allocations)
			}
		}
		if hs, err := alloc.Handles(ctx); err != nil || len(hs) > 0 {
			return fmt.Errorf("handles left: %v (%v)", hs, err)
		}
		weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, store, "")
		if err != nil || len(weps) > 0 {
			return fmt.Errorf("workload endpoints left: %d (%v)", len(weps), err)
		}
		if !networks {
			return nil
		}
		if nets, err := driver.List(ctx, store); err != nil || len(nets) > 0 {
			return fmt.Errorf("network records left: %v (%v)", nets, err)
		}
		return nil
	})
}
