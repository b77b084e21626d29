package e2e

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// IPv6 test pools: unique local addresses, test-only. ipv6Pool is applied
// with calicoctl (networks without --subnet draw from it); the --subnet
// network is dual stack, ipv6SubnetPool4 and ipv6SubnetPool.
const (
	ipv6Pool        = "fd00:10:231::/64"
	ipv6SubnetPool  = "fd00:10:232::/64"
	ipv6SubnetPool4 = "10.232.0.0/16"
	ipv6Explicit    = "fd00:10:232::77"
)

// ipv6Forwarding is the host sysctl felix turns on with CALICO_IPV6.
const ipv6Forwarding = "/proc/sys/net/ipv6/conf/all/forwarding"

// TestIPv6 runs IPv6 workloads on a real engine: a daemon with
// CALICO_IPV6=true, an IPv6 pool applied with calicoctl, a dual-stack
// network without --subnet and one with two --subnet (v4 and v6), two
// containers with a /128 each and a default route via Calico's link-local
// gateway, pings between them and from the host, --ip6, a container on
// both networks (connected later, and at start), and removal leaving
// nothing in IPAM.
//
// No DAD wait: Docker adds the container's /128 with IFA_F_NODAD ("flags
// 02" in busybox ip) and felix adds the gateway on the host side with
// nodad, so both ends are usable at once; only the container's own fe80::
// address is tentative for a moment, and nothing here uses it as a source.
// The test logs how long the first ping took.
//
// The test engine runs without --ipv6 or --ip6tables: those only concern
// Docker's default bridge and Docker's own ip6tables rules; an IPv6
// network of a remote driver needs only `docker network create --ipv6`.
func TestIPv6(t *testing.T) {
	e := newEngine(t)
	requireFreeRanges(t, defaultPool, ipv6Pool, ipv6SubnetPool, ipv6SubnetPool4)
	restoreFile(t, ipv6Forwarding) // runs after the daemon has stopped
	d := startDaemon(t, e.host, "CALICO_IPV6=true")
	applyIPv6Pool(t, d)

	netA := e.network("v6a", "--ipv6")
	netB := e.network("v6b", "--ipv6", "--subnet", ipv6SubnetPool4, "--subnet", ipv6SubnetPool)
	c1 := e.run("v6c1", "--net", netA)
	c2 := e.run("v6c2", "--net", netA)
	c3 := e.run("v6c3", "--net", netB, "--ip6", ipv6Explicit)
	ip1, ip2 := e.ip6(c1, netA), e.ip6(c2, netA)

	t.Run("container interface", func(t *testing.T) {
		checkWorkloadSide6(t, e, c1, ip1, ipv6Pool)
		checkWorkloadSide6(t, e, c2, ip2, ipv6Pool)
		checkWorkloadSide6(t, e, c3, ipv6Explicit, ipv6SubnetPool)
		checkWorkloadSide(t, e, c3, e.ip(c3, netB)) // and IPv4 as before
	})
	t.Run("host side", func(t *testing.T) { checkHostSide6(t, ip1, ipv6Explicit) })
	t.Run("same network", func(t *testing.T) {
		start := time.Now()
		e.pingFrom(c1, ip2)
		t.Logf("first IPv6 ping from c1 to c2 answered after %s", time.Since(start).Round(time.Millisecond))
		e.pingFrom(c2, ip1)
	})
	t.Run("isolation between networks", func(t *testing.T) {
		// Each network's default profile admits its own members only, in
		// ip6tables as in iptables.
		e.cannotReach(c3, ip1)
		e.cannotReach(c1, ipv6Explicit)
	})
	t.Run("from host", func(t *testing.T) {
		pingFromHost6(t, ip1)
		pingFromHost6(t, ip2)
		pingFromHost6(t, ipv6Explicit)
	})
	t.Run("explicit ip6", func(t *testing.T) {
		if got := e.ip6(c3, netB); got != ipv6Explicit {
			t.Errorf("--ip6 %s gave %s", ipv6Explicit, got)
		}
		out := e.must("run", "--rm", "--net", netB, "--ip6", "fd00:10:232::78", testenv.TestImage(),
			"ip", "-o", "-6", "addr", "show", "cali0")
		if !strings.Contains(out, "inet6 fd00:10:232::78/128") {
			t.Errorf("one-off container with --ip6 fd00:10:232::78: %s", out)
		}
	})
	t.Run("two calico networks", func(t *testing.T) { checkTwoNetworks6(t, e, c1, c3, netB) })
	t.Run("two calico networks at start", func(t *testing.T) { checkTwoNetworksAtStart6(t, e, netA, netB, ip2) })
	t.Run("two subnet-less networks", func(t *testing.T) { checkTwoSubnetLess6(t, e, c2, netA, ip1) })
	t.Run("removal frees everything", func(t *testing.T) {
		e.must("rm", "-f", c1, c2, c3, e.name("v6c4"))
		e.must("network", "rm", netA, netB)
		checkNothingLeft(t, d)
	})
}

// checkTwoNetworks6 connects c1 to the second network: traffic to that
// network must leave by cali1 with c1's address on it (else netB's
// profile drops it), and c1 answers on that address.
func checkTwoNetworks6(t *testing.T, e *engine, c1, c3, netB string) {
	e.must("network", "connect", netB, c1)
	ipB := e.ip6(c1, netB)
	// The driver adds the --subnet route in the background once Docker
	// has set the interface up.
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		route, err := e.exec(c1, "ip", "-6", "route", "get", ipv6Explicit)
		if err != nil || !strings.Contains(route, "dev cali1") || !strings.Contains(route, "src "+ipB) {
			return fmt.Errorf("route from c1 to %s: %q (%v), want dev cali1 src %s", ipv6Explicit, route, err, ipB)
		}
		return nil
	})
	// busybox ip lists every table for IPv6 (the source-routing tables
	// have a default route each): read the main table with the host's ip.
	sandbox := e.must("inspect", "-f", "{{.NetworkSettings.SandboxKey}}", c1)
	if routes, _ := hostCmd(t, "nsenter", "--net="+sandbox, "ip", "-6", "route", "show", "table", "main"); strings.Count(routes, "default") != 1 {
		t.Errorf("c1 has more than one IPv6 default route:\n%s", routes)
	}
	e.pingFrom(c1, ipv6Explicit)
	e.pingFrom(c3, ipB)
	pingFromHost6(t, ipB)
}

// checkTwoSubnetLess6 connects c2 (on netA, without --subnet) to a
// second dual-stack network without --subnet: both draw from the same
// pools in both families, so felix routes each peer of the new network by
// host route via cali1 — /32s and /128s — from c2's addresses there. The
// new network's profile admits only its members: a ping answered proves
// the source address was the right one; c2 still reaches c1 on netA. It
// removes what it made.
func checkTwoSubnetLess6(t *testing.T, e *engine, c2, netA, ip1 string) {
	netC := e.network("v6c", "--ipv6")
	peer := e.run("v6peer", "--net", netC)
	t.Cleanup(func() {
		_, _ = e.try("rm", "-f", peer)
		_, _ = e.try("network", "disconnect", "-f", netC, c2)
		_, _ = e.try("network", "rm", netC)
	})
	e.must("network", "connect", netC, c2)
	peer6, own6 := e.ip6(peer, netC), e.ip6(c2, netC)
	if !netip.MustParsePrefix(ipv6Pool).Contains(netip.MustParseAddr(own6)) || e.ip6(c2, netA) == own6 {
		t.Fatalf("c2's address on the second network %s: want another address of %s", own6, ipv6Pool)
	}
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		route, err := e.exec(c2, "ip", "-6", "route", "get", peer6)
		if err != nil || !strings.Contains(route, "dev cali1") || !strings.Contains(route, "src "+own6) {
			return fmt.Errorf("route from c2 to %s: %q (%v), want dev cali1 src %s", peer6, route, err, own6)
		}
		return nil
	})
	e.pingFrom(c2, peer6)
	e.pingFrom(peer, own6)
	e.pingFrom(c2, e.ip(peer, netC)) // and IPv4 as before
	e.pingFrom(c2, ip1)              // netA's peers still by netA's interface
}

// checkTwoNetworksAtStart6 attaches both networks before the container
// starts (Docker joins both endpoints before the namespace exists).
func checkTwoNetworksAtStart6(t *testing.T, e *engine, netA, netB, ipA string) {
	c4 := e.name("v6c4")
	t.Cleanup(func() { _, _ = e.try("rm", "-f", c4) })
	e.must("create", "--name", c4, "--net", netA, testenv.TestImage(), "sleep", "600")
	e.must("network", "connect", netB, c4)
	e.must("start", c4)
	e.pingFrom(c4, ipA)
	e.pingFrom(c4, ipv6Explicit)
	pingFromHost6(t, e.ip6(c4, netA))
	pingFromHost6(t, e.ip6(c4, netB))
}

// applyIPv6Pool creates ipv6Pool with calicoctl. Its name matters: a
// network without --subnet draws from every enabled pool of the family,
// including the pool `docker network create --subnet` made, and IPAM tries
// pools in name order; "default-…" sorts before "docker-…" (as the
// daemon's default-ipv4-ippool does).
func applyIPv6Pool(t *testing.T, d *daemon) {
	f := t.TempDir() + "/pool.yaml"
	spec := fmt.Sprintf("apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: default-ipv6-ippool\nspec:\n  cidr: %s\n", ipv6Pool)
	if err := os.WriteFile(f, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	ctl(t, d, "apply", "-f", f)
}

// ip6 returns a container's IPv6 address on a network.
func (e *engine) ip6(container, network string) string {
	e.t.Helper()
	out := e.must("inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).GlobalIPv6Address}}`, network), container)
	if a, err := netip.ParseAddr(out); err != nil || !a.Is6() {
		e.t.Fatalf("%s has no IPv6 address on %s: %q", container, network, out)
	}
	return out
}

// checkWorkloadSide6: cali0 has ip/128 from pool, and the default IPv6
// route is via Calico's gateway on cali0.
func checkWorkloadSide6(t *testing.T, e *engine, c, ip, pool string) {
	t.Helper()
	if !netip.MustParsePrefix(pool).Contains(netip.MustParseAddr(ip)) {
		t.Errorf("%s got %s, outside the pool %s", c, ip, pool)
	}
	addrs, _ := e.exec(c, "ip", "-o", "-6", "addr", "show", "cali0")
	if !strings.Contains(addrs, "inet6 "+ip+"/128 ") {
		t.Errorf("%s cali0 addresses:\n%s\nwant %s/128", c, addrs, ip)
	}
	routes, _ := e.exec(c, "ip", "-6", "route")
	gw := regexp.QuoteMeta(felix.IPv6Gateway.String())
	if !regexp.MustCompile(`(?m)^default via ` + gw + ` dev cali0`).MatchString(routes) {
		t.Errorf("%s IPv6 routes:\n%s\nwant default via %s dev cali0", c, routes, felix.IPv6Gateway)
	}
}

// checkHostSide6: a /128 route to each address by its cali interface, and
// that interface holds the gateway address.
func checkHostSide6(t *testing.T, ips ...string) {
	t.Helper()
	for _, ip := range ips {
		testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
			dev, err := hostRouteDev6(t, ip)
			if err != nil {
				return err
			}
			out, err := hostCmd(t, "ip", "-6", "-o", "addr", "show", "dev", dev)
			if err != nil || !strings.Contains(out, "inet6 "+felix.IPv6Gateway.String()+"/64") {
				return fmt.Errorf("%s lacks the gateway %s/64: %s (%v)", dev, felix.IPv6Gateway, out, err)
			}
			return nil
		})
	}
}

// hostRouteDev6 returns the cali interface of the host's /128 route to ip.
func hostRouteDev6(t testing.TB, ip string) (string, error) {
	out, err := hostCmd(t, "ip", "-6", "route", "show", "exact", ip+"/128")
	if err != nil {
		return "", fmt.Errorf("ip route show %s: %v: %s", ip, err, out)
	}
	f := strings.Fields(out)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "dev" && strings.HasPrefix(f[i+1], "cali") {
			return f[i+1], nil
		}
	}
	return "", fmt.Errorf("no /128 route to %s by a cali interface yet: %q", ip, out)
}

// pingFromHost6 pings a container's IPv6 address from the host, and only
// once the host routes it to a cali interface: without that route the
// packet would leave by the host's default IPv6 route.
func pingFromHost6(t testing.TB, dst string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		if _, err := hostRouteDev6(t, dst); err != nil {
			return err
		}
		if out, err := hostCmd(t, "ping", "-6", "-c", "1", "-W", "1", dst); err != nil {
			return fmt.Errorf("ping -6 %s: %v: %s", dst, err, out)
		}
		return nil
	})
}

// restoreFile puts a /proc/sys file back at cleanup.
func restoreFile(t testing.TB, path string) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cur, _ := os.ReadFile(path); string(cur) != string(old) {
			if err := os.WriteFile(path, old, 0o644); err != nil {
				t.Errorf("restore %s: %v", path, err)
			}
		}
	})
}
