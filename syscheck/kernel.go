package syscheck

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
)

// iptables: the save/restore tools of the backend the daemon will use (the
// one Docker's rules are in, unless configured), and a kernel that answers.
func (c *checker) iptables(ctx context.Context) []Result {
	const name = "iptables"
	if _, res := c.tool(name, "iptables", "iptables"); res != nil {
		return []Result{*res}
	}
	backend, how := iptables.Backend(c.cfg.IptablesBackend), "configured (iptables_backend)"
	if backend == "" {
		backend = iptables.DetectBackend(ctx, runner{c.cfg.Run})
		how = "detected: the backend holding Docker's rules, else the distribution's default"
	}
	versions := []string{"iptables"}
	if c.cfg.IPv6 {
		versions = append(versions, "ip6tables")
	}
	var out []Result
	for _, base := range versions {
		check := base + "-" + string(backend)
		save, res := c.tool(check, base+"-"+string(backend)+"-save", "iptables")
		if res == nil {
			_, res = c.tool(check, base+"-"+string(backend)+"-restore", "iptables")
		}
		if res != nil {
			out = append(out, *res)
			continue
		}
		if _, err := c.cfg.Run(ctx, save, "-t", "filter"); err != nil {
			out = append(out, failed(check, fmt.Sprintf("the kernel refuses %s tables (%v)", backend, err),
				"use a kernel with "+kernelTables(backend)+", or set iptables_backend to the other backend"))
			continue
		}
		out = append(out, ok(check, string(backend)+" backend, "+how))
	}
	return out
}

func kernelTables(b iptables.Backend) string {
	if b == iptables.BackendNFT {
		return "nf_tables (modprobe nf_tables)"
	}
	return "ip_tables (modprobe ip_tables)"
}

// runner adapts Config.Run to iptables.Runner for backend detection.
type runner struct {
	run func(ctx context.Context, name string, args ...string) ([]byte, error)
}

func (r runner) Run(ctx context.Context, _ []byte, name string, args ...string) ([]byte, error) {
	return r.run(ctx, name, args...)
}

// sysctls: the dataplane writes net.* sysctls and refuses loose rp_filter.
func (c *checker) sysctls() []Result {
	const name = "sysctls"
	fwd := filepath.Join(c.cfg.ProcSys, "net/ipv4/ip_forward")
	if err := unix.Access(fwd, unix.W_OK); err != nil {
		return []Result{failed(name, fmt.Sprintf("%s is not writable (%v)", fwd, err),
			"run the daemon as root with /proc/sys writable (the managed plugin needs CAP_SYS_ADMIN)")}
	}
	out := []Result{}
	rpf, err := os.ReadFile(filepath.Join(c.cfg.ProcSys, "net/ipv4/conf/all/rp_filter"))
	switch {
	case err != nil:
		out = append(out, failed(name, fmt.Sprintf("cannot read net.ipv4.conf.all.rp_filter: %v", err), "run the daemon as root"))
	case strings.TrimSpace(string(rpf)) == "2" && !c.cfg.IgnoreLooseRPF:
		out = append(out, failed(name, "net.ipv4.conf.all.rp_filter is 2 (loose): workloads could spoof addresses",
			"sysctl -w net.ipv4.conf.all.rp_filter=1, or accept the risk with ignore_loose_rpf"))
	default:
		out = append(out, ok(name, "net.ipv4 writable, rp_filter "+strings.TrimSpace(string(rpf))))
	}
	if c.cfg.IPv6 {
		if _, err := os.Stat(filepath.Join(c.cfg.ProcSys, "net/ipv6/conf/all/forwarding")); err != nil {
			out = append(out, failed("sysctls-ipv6", "IPv6 is disabled in this kernel (no net.ipv6 sysctls)",
				"boot without ipv6.disable=1, or set ipv6 to false"))
		} else {
			out = append(out, ok("sysctls-ipv6", "net.ipv6 present"))
		}
	}
	return out
}

// tunnels: VXLAN is required with networking_backend vxlan; otherwise the
// tunnel devices are only needed by pools with encapsulation (a warning).
func (c *checker) tunnels() []Result {
	if c.cfg.NetworkingBackend == "none" {
		return nil
	}
	vx := c.module("vxlan", "vxlan", "VXLAN")
	ipip := c.module("ipip", "ipip", "IP-in-IP")
	if c.cfg.NetworkingBackend != "vxlan" {
		for _, r := range []*Result{&vx, &ipip} {
			if r.Severity == Failed {
				r.Severity, r.Detail = Warning, r.Detail+" (only pools with that encapsulation need it)"
			}
		}
		return []Result{vx, ipip}
	}
	return []Result{vx}
}

// pluginDir: Docker finds the plugin sockets there; the daemon creates it.
func (c *checker) pluginDir() Result {
	const name = "plugin_dir"
	dir := c.cfg.PluginDir
	if dir == "" {
		return ok(name, "not checked (no plugin directory configured)")
	}
	probe := dir
	for {
		st, err := os.Stat(probe)
		if err == nil {
			if !st.IsDir() {
				return failed(name, probe+" is not a directory", "remove it or set plugin_dir to a directory")
			}
			break
		}
		parent := filepath.Dir(probe)
		if parent == probe {
			break
		}
		probe = parent
	}
	if err := unix.Access(probe, unix.W_OK); err != nil {
		return failed(name, fmt.Sprintf("%s is not writable (%v), so the plugin sockets cannot be created in %s", probe, err, dir),
			"run the daemon as root, or set plugin_dir")
	}
	if probe != dir {
		return ok(name, dir+" (will be created)")
	}
	return ok(name, dir)
}

// module checks a kernel feature that may be a loadable module: loaded,
// built in, or installed (the kernel loads it on first use).
func (c *checker) module(check, mod, what string) Result {
	rel := kernelRelease()
	switch moduleState(mod, "/sys/module", "/proc/modules", filepath.Join("/lib/modules", rel)) {
	case modLoaded:
		return ok(check, what+": module "+mod+" loaded")
	case modBuiltin:
		return ok(check, what+": built into the kernel")
	case modInstalled:
		return ok(check, what+": module "+mod+" installed (loaded on first use)")
	case modUnknown:
		return warning(check, fmt.Sprintf("%s: cannot tell whether module %s is available (no /lib/modules/%s)", what, mod, rel),
			"load it now (modprobe "+mod+") or install the kernel's modules (linux-image-"+rel+")")
	}
	return failed(check, fmt.Sprintf("%s: kernel module %s is neither loaded nor installed (%v)", what, mod, errNoModule),
		"use a kernel with "+mod+" (Debian's linux-image-amd64 has it), then modprobe "+mod)
}

type modState int

const (
	modMissing modState = iota
	modLoaded
	modBuiltin
	modInstalled
	modUnknown
)

// moduleState looks a module up the way modprobe would, without loading
// it: /sys/module (loaded, or built in with parameters), a kernel without
// loadable modules (no /proc/modules: everything is built in),
// modules.builtin and modules.dep under libDir.
func moduleState(mod, sysModule, procModules, libDir string) modState {
	if _, err := os.Stat(filepath.Join(sysModule, mod)); err == nil {
		return modLoaded
	}
	if _, err := os.Stat(procModules); os.IsNotExist(err) {
		return modBuiltin
	}
	found := func(file string) (bool, error) {
		b, err := os.ReadFile(filepath.Join(libDir, file))
		if err != nil {
			return false, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		for sc.Scan() {
			path, _, _ := strings.Cut(sc.Text(), ":")
			base := strings.SplitN(filepath.Base(path), ".ko", 2)[0]
			if strings.ReplaceAll(base, "-", "_") == mod {
				return true, nil
			}
		}
		return false, nil
	}
	if in, err := found("modules.builtin"); err == nil && in {
		return modBuiltin
	}
	in, err := found("modules.dep")
	switch {
	case err != nil:
		return modUnknown
	case in:
		return modInstalled
	}
	return modMissing
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
