package testenv

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Helpers for tests that run the daemon binary on the host (packages e2e
// and e2e/fleet).
//
// The daemon leaves its dataplane in place when it stops, so that running
// workloads keep their connectivity across a restart. A test's daemon is
// the only calico-libnetwork on the machine, so once it has stopped the
// test removes what its dataplane made in the host namespace: routes of
// protocol 80 inside the test's pools (the blackholes of its IPAM blocks)
// and the local route of the gateway range, and the cali-* iptables chains with the rules that jump to them, and
// cali* IP sets.

// PluginDir is where dockerd looks for plugin sockets; it cannot be changed.
const PluginDir = "/run/docker/plugins"

// CleanHostDataplane removes the dataplane state a stopped test daemon
// left, IPv4 and IPv6.
func CleanHostDataplane(t testing.TB, pools ...string) {
	t.Helper()
	for _, family := range []string{"-4", "-6"} {
		cleanRoutes(t, family, pools)
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			cleanChains(t, bin, table)
		}
	}
	// The workloads' gateway range felix makes local (felix/gateway.go).
	_, _ = hostCmd("ip", "route", "del", "local", "169.254.1.0/24", "dev", "lo", "table", "local", "proto", "80")
	if sets, err := hostCmd("ipset", "list", "-n"); err == nil {
		for _, s := range strings.Fields(sets) {
			if strings.HasPrefix(s, "cali") {
				_, _ = hostCmd("ipset", "destroy", s)
			}
		}
	}
}

// RouteDst matches the destination of a line of `ip route show`.
var RouteDst = regexp.MustCompile(`^(?:(?:unicast|blackhole|unreachable|prohibit|local|broadcast) )?(\S+)`)

// cleanRoutes deletes the routes of protocol 80 inside pools of one family
// ("-4" or "-6").
func cleanRoutes(t testing.TB, family string, pools []string) {
	t.Helper()
	out, err := hostCmd("ip", family, "route", "show", "proto", "80")
	if err != nil {
		t.Errorf("list routes: %v: %s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		m := RouteDst.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		dst, err := netip.ParsePrefix(m[1])
		if err != nil || !insideAny(dst, pools) {
			continue
		}
		if out, err := hostCmd("ip", append([]string{family, "route", "del"}, strings.Fields(line)...)...); err != nil {
			t.Errorf("delete route %q: %v: %s", line, err, out)
		}
	}
}

func insideAny(p netip.Prefix, pools []string) bool {
	for _, pool := range pools {
		pp := netip.MustParsePrefix(pool)
		if pp.Addr().Is4() == p.Addr().Is4() && pp.Contains(p.Addr()) && p.Bits() >= pp.Bits() {
			return true
		}
	}
	return false
}

// cleanChains deletes rules jumping to cali-* chains, then those chains,
// with bin (iptables or ip6tables).
func cleanChains(t testing.TB, bin, table string) {
	out, err := hostCmd(bin, "-t", table, "-S")
	if err != nil {
		return
	}
	var chains []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "-N" && strings.HasPrefix(f[1], "cali-"):
			chains = append(chains, f[1])
		case len(f) >= 2 && f[0] == "-A" && !strings.HasPrefix(f[1], "cali-") && strings.Contains(line, " -j cali-"):
			args := append([]string{"-t", table, "-D"}, unquote(f[1:])...)
			if out, err := hostCmd(bin, args...); err != nil {
				t.Errorf("%s %v: %v: %s", bin, args, err, out)
			}
		}
	}
	for _, op := range []string{"-F", "-X"} {
		for _, c := range chains {
			if out, err := hostCmd(bin, "-t", table, op, c); err != nil {
				t.Errorf("%s -t %s %s %s: %v: %s", bin, table, op, c, err, out)
			}
		}
	}
}

// unquote drops the quotes iptables -S puts around comments; arguments are
// passed without a shell, so the comment must be one argument.
func unquote(fields []string) []string {
	var out []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if strings.HasPrefix(f, `"`) {
			s := f
			for !strings.HasSuffix(s, `"`) || len(s) == 1 {
				i++
				if i >= len(fields) {
					break
				}
				s += " " + fields[i]
			}
			f = strings.Trim(s, `"`)
		}
		out = append(out, f)
	}
	return out
}

// hostCmd runs a host command and returns its combined output, trimmed.
func hostCmd(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// PluginAnswers reports whether a plugin answers /Plugin.Activate on the
// unix socket path.
func PluginAnswers(path string) bool {
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}}
	resp, err := c.Post("http://plugin/Plugin.Activate", "application/json", nil)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// LockPluginDir serializes the daemons of concurrent runs (other test
// binaries, other checkouts) that need PluginDir. The lock is held until
// the test ends; the kernel drops it if the test process dies.
func LockPluginDir(t testing.TB) {
	t.Helper()
	const path = "/run/calico-test/e2e-plugin-dir.lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Minute)
	for syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("%s is held by another e2e run for 15 minutes; is one stuck?", path)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}

// StopDaemon stops a daemon process a test started: SIGTERM to its PID,
// SIGKILL after 30s, and waits for it. exited receives cmd.Wait's result
// (buffered, 1); it holds a value again afterwards, so StopDaemon may be
// called twice.
func StopDaemon(t testing.TB, cmd *exec.Cmd, exited chan error) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case err := <-exited:
		exited <- err
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Errorf("daemon (pid %d) ignored SIGTERM for 30s; killing it", cmd.Process.Pid)
		_ = cmd.Process.Kill()
		<-exited
	}
	exited <- nil
}

// WorkloadLinks lists the host namespace's workload interfaces: host ends
// of workload veths (cali*) and container ends not moved into a sandbox
// (tmp*), sorted.
func WorkloadLinks(t testing.TB) []string {
	t.Helper()
	out, err := hostCmd("ip", "-o", "link", "show")
	if err != nil {
		t.Fatalf("ip link show: %v: %s", err, out)
	}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name := strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]
		if strings.HasPrefix(name, "cali") || strings.HasPrefix(name, "tmp") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// CheckNoNewWorkloadLinks fails the test (without stopping it) if the
// host namespace has a workload interface that is not in before
// (WorkloadLinks taken when the test began), naming them: every veth a
// test's daemon made must be gone once its containers were removed and
// the daemon stopped. It waits up to 10s for background deletions.
func CheckNoNewWorkloadLinks(t testing.TB, before []string) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		left = left[:0]
		for _, name := range WorkloadLinks(t) {
			if !slices.Contains(before, name) {
				left = append(left, name)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("workload veths left in the host namespace: %v", left)
			return
		}
	}
}
