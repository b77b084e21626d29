package fleet

import (
	"net/netip"
	osexec "os/exec"
	"regexp"
	"strings"
	"testing"
)

// A copy of e2e/hostclean_test.go (test helpers of another package cannot
// be imported; a candidate for internal/testenv).
//
// The daemon leaves its dataplane in place when it stops, so that running
// workloads keep their connectivity across a restart. A test's daemon is
// the only calico-libnetwork on the machine (startDaemon checks), so once
// it has stopped the test removes what its dataplane made in the host
// namespace: routes of protocol 80 inside the test's pools (the
// blackholes of its IPAM blocks), and the cali-* iptables chains with the
// rules that jump to them, and cali* IP sets.

// cleanHostDataplane removes the dataplane state left by the test daemon,
// IPv4 and IPv6 (TestIPv6 runs the daemon with CALICO_IPV6).
func cleanHostDataplane(t testing.TB, pools ...string) {
	t.Helper()
	for _, family := range []string{"-4", "-6"} {
		cleanRoutes(t, family, pools)
	}
	for _, bin := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"filter", "nat", "mangle", "raw"} {
			cleanChains(t, bin, table)
		}
	}
	if sets, err := hostCmd(t, "ipset", "list", "-n"); err == nil {
		for _, s := range strings.Fields(sets) {
			if strings.HasPrefix(s, "cali") {
				_, _ = hostCmd(t, "ipset", "destroy", s)
			}
		}
	}
}

// cleanRoutes deletes the routes of protocol 80 inside pools of one family
// ("-4" or "-6").
func cleanRoutes(t testing.TB, family string, pools []string) {
	t.Helper()
	out, err := hostCmd(t, "ip", family, "route", "show", "proto", "80")
	if err != nil {
		t.Errorf("list routes: %v: %s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		m := routeDst.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		dst, err := netip.ParsePrefix(m[1])
		if err != nil || !insideAny(dst, pools) {
			continue
		}
		if out, err := hostCmd(t, "ip", append([]string{family, "route", "del"}, strings.Fields(line)...)...); err != nil {
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
	out, err := hostCmd(t, bin, "-t", table, "-S")
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
			if out, err := hostCmd(t, bin, args...); err != nil {
				t.Errorf("%s %v: %v: %s", bin, args, err, out)
			}
		}
	}
	for _, op := range []string{"-F", "-X"} {
		for _, c := range chains {
			if out, err := hostCmd(t, bin, "-t", table, op, c); err != nil {
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

var routeDst = regexp.MustCompile(`^(?:(?:unicast|blackhole|unreachable|prohibit|local|broadcast) )?(\S+)`)

// hostCmd runs a host command and returns its combined output.
func hostCmd(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	out, err := osexec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
