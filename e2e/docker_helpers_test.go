package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	osexec "os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testbed"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// engine runs docker commands against the test engine and removes, at
// cleanup, exactly the containers and networks it created.
type engine struct {
	t    testing.TB
	host string
	sfx  string           // random suffix of every name
	at   *testbed.Dockerd // a bed host's engine instead of the test engine
}

func newEngine(t testing.TB) *engine {
	t.Helper()
	host := testenv.Docker(t)
	b := make([]byte, 3)
	rand.Read(b)
	return &engine{t: t, host: host, sfx: hex.EncodeToString(b)}
}

func (e *engine) name(base string) string { return fmt.Sprintf("cal-e2e-%s-%s", e.sfx, base) }

func (e *engine) try(args ...string) (string, error) {
	e.t.Helper()
	if e.at != nil {
		return e.at.Output(args...)
	}
	return testenv.DockerCmd(e.t, args...)
}

func (e *engine) must(args ...string) string {
	e.t.Helper()
	out, err := e.try(args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// network creates a calico network and schedules its removal.
func (e *engine) network(base string, extra ...string) string {
	e.t.Helper()
	n := e.name(base)
	args := append([]string{"network", "create", "--driver", "calico", "--ipam-driver", "calico-ipam"}, extra...)
	e.must(append(args, n)...)
	e.t.Cleanup(func() { _, _ = e.try("network", "rm", n) })
	return n
}

// run starts a detached container that sleeps, and schedules its removal.
func (e *engine) run(base string, args ...string) string {
	e.t.Helper()
	n := e.name(base)
	e.t.Cleanup(func() { _, _ = e.try("rm", "-f", n) })
	full := append([]string{"run", "-d", "--name", n}, args...)
	e.must(append(full, testenv.TestImage(), "sleep", "600")...)
	return n
}

// ip returns a container's IPv4 address on a network.
func (e *engine) ip(container, network string) string {
	e.t.Helper()
	out := e.must("inspect", "-f", fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, network), container)
	if _, err := netip.ParseAddr(out); err != nil {
		e.t.Fatalf("%s has no address on %s: %q", container, network, out)
	}
	return out
}

// exec runs a command in a container.
func (e *engine) exec(container string, cmd ...string) (string, error) {
	e.t.Helper()
	return e.try(append([]string{"exec", container}, cmd...)...)
}

// pingFrom pings dst from a container until it answers (the dataplane
// converges asynchronously) or 30s pass.
func (e *engine) pingFrom(container, dst string) {
	e.t.Helper()
	testenv.Eventually(e.t, 30*time.Second, 200*time.Millisecond, func() error {
		_, err := e.exec(container, "ping", "-c", "1", "-W", "1", dst)
		return err
	})
}

// cannotReach checks that pings from a container to dst go unanswered:
// policy (a profile, a NetworkPolicy) drops them. The dataplane has
// converged already when this is called (the caller saw traffic allowed by
// the same rules flow), so one round of three pings decides.
func (e *engine) cannotReach(container, dst string) {
	e.t.Helper()
	if out, err := e.exec(container, "ping", "-c", "3", "-i", "0.2", "-W", "1", dst); err == nil {
		e.t.Errorf("%s reached %s, which policy should drop:\n%s", container, dst, out)
	}
}

// pingFromHost pings a container's address from the host.
func pingFromHost(t testing.TB, dst string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		out, err := osexec.Command("ping", "-c", "1", "-W", "1", dst).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ping %s: %v: %s", dst, err, out)
		}
		return nil
	})
}

var routeDst = regexp.MustCompile(`^(?:(?:unicast|blackhole|unreachable|prohibit|local|broadcast) )?(\S+)`)

// requireFreeRanges fails unless no route of the host, IPv4 or IPv6 (other
// than the daemon's own, proto 80), overlaps the test pools: the tests must never
// send traffic to addresses that exist outside this machine.
func requireFreeRanges(t testing.TB, pools ...string) {
	t.Helper()
	var lines []string
	for _, family := range []string{"-4", "-6"} {
		out, err := osexec.Command("ip", family, "-o", "route", "show", "table", "all").CombinedOutput()
		if err != nil {
			t.Fatalf("ip %s route: %v: %s", family, err, out)
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(out)), "\n")...)
	}
	for _, line := range lines {
		m := routeDst.FindStringSubmatch(line)
		if m == nil || m[1] == "default" || strings.Contains(line, "proto 80") {
			continue
		}
		dst, err := netip.ParsePrefix(m[1])
		if err != nil {
			a, err2 := netip.ParseAddr(m[1])
			if err2 != nil {
				continue
			}
			dst = netip.PrefixFrom(a, a.BitLen())
		}
		for _, p := range pools {
			if netip.MustParsePrefix(p).Overlaps(dst) {
				t.Fatalf("host route %q overlaps the test pool %s: refusing to run", line, p)
			}
		}
	}
}

// hostCmd runs a host command and returns its combined output.
func hostCmd(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	out, err := osexec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
