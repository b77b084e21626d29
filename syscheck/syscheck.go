// Package syscheck checks that this host has every tool and kernel feature
// the calico-libnetwork daemon needs to program the dataplane: ipset,
// iptables in the backend Docker uses, the netfilter features its rules use
// (conntrack, IP set matches), writable net.* sysctls and the plugin
// directory Docker reads.
//
// The daemon runs these checks at start-up and refuses to start when one
// fails (a daemon that says Ready but cannot program a rule is worse than
// one that stops with a clear message); the same checks back `calicoctl
// node checksystem` and the daemon's /readyz. Each failure names what is
// missing and the Debian package (or command) that provides it.
//
// Checks only read the host: they never install, load or write anything.
package syscheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Config says which features the daemon will use, so only those are checked.
type Config struct {
	// IptablesBackend is legacy, nft, or "" to detect it as the daemon
	// does (the one Docker's rules are in).
	IptablesBackend string
	// IPv6 also needs ip6tables and the IPv6 sysctls.
	IPv6 bool
	// IgnoreLooseRPF accepts net.ipv4.conf.all.rp_filter=2.
	IgnoreLooseRPF bool
	// PluginDir is where the plugin sockets go (must be creatable).
	PluginDir string
	// NetworkingBackend (bird, vxlan, none) adds the tunnel features.
	NetworkingBackend string
	// FlowLogs adds NFLOG (the flow-log rules' target and its netlink
	// group).
	FlowLogs bool
	// ProcSys is /proc/sys unless a test says otherwise.
	ProcSys string
	// LookPath finds a tool; exec.LookPath when nil.
	LookPath func(string) (string, error)
	// Run runs a tool and returns its output; exec when nil.
	Run func(ctx context.Context, name string, args ...string) ([]byte, error)
}

// Severity of a result.
type Severity int

const (
	// OK: the requirement is met.
	OK Severity = iota
	// Warning: the daemon can run, but something will not work or could
	// not be verified.
	Warning
	// Failed: the daemon cannot program the dataplane; it refuses to start.
	Failed
)

func (s Severity) String() string {
	switch s {
	case OK:
		return "ok"
	case Warning:
		return "warning"
	}
	return "FAILED"
}

// Result is the outcome of one check.
type Result struct {
	Name     string   `json:"name"`
	Severity Severity `json:"-"`
	Status   string   `json:"status"`           // ok, warning, FAILED
	Detail   string   `json:"detail,omitempty"` // what was found, or what is wrong
	Fix      string   `json:"fix,omitempty"`    // what to do, e.g. apt-get install ipset
}

// Report is the outcome of every check, in a fixed order.
type Report struct {
	Results []Result `json:"results"`
}

// Err is nil when nothing failed; otherwise one error naming every failed
// check, what is missing and how to install it.
func (r Report) Err() error {
	var msgs []string
	for _, res := range r.Results {
		if res.Severity == Failed {
			msgs = append(msgs, fmt.Sprintf("%s: %s; %s", res.Name, res.Detail, res.Fix))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return fmt.Errorf("this host cannot run the Calico dataplane (%d problem(s)): %s",
		len(msgs), strings.Join(msgs, "; and "))
}

// Warnings are the results of severity Warning.
func (r Report) Warnings() []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Severity == Warning {
			out = append(out, res)
		}
	}
	return out
}

// toolTimeout bounds every probe command.
const toolTimeout = 5 * time.Second

// Check runs every check for cfg.
func Check(ctx context.Context, cfg Config) Report {
	c := checker{cfg: cfg}
	if c.cfg.ProcSys == "" {
		c.cfg.ProcSys = "/proc/sys"
	}
	if c.cfg.LookPath == nil {
		c.cfg.LookPath = exec.LookPath
	}
	if c.cfg.Run == nil {
		c.cfg.Run = runTool
	}
	var rep Report
	add := func(rs ...Result) { rep.Results = append(rep.Results, rs...) }
	add(c.ipset(ctx))
	add(c.iptables(ctx)...)
	add(c.conntrack())
	add(c.sysctls()...)
	add(c.tunnels()...)
	add(c.flowLogs()...)
	add(c.pluginDir())
	for i := range rep.Results {
		rep.Results[i].Status = rep.Results[i].Severity.String()
	}
	return rep
}

type checker struct{ cfg Config }

func runTool(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

func ok(name, detail string) Result { return Result{Name: name, Severity: OK, Detail: detail} }

func failed(name, detail, fix string) Result {
	return Result{Name: name, Severity: Failed, Detail: detail, Fix: fix}
}

func warning(name, detail, fix string) Result {
	return Result{Name: name, Severity: Warning, Detail: detail, Fix: fix}
}

// aptFix is the fix for a missing Debian package.
func aptFix(pkg string) string { return "install it: apt-get install " + pkg }

// tool checks that name is on PATH, or says which package provides it.
func (c *checker) tool(check, name, pkg string) (string, *Result) {
	p, err := c.cfg.LookPath(name)
	if err != nil {
		r := failed(check, fmt.Sprintf("%s not found on PATH (%s)", name, os.Getenv("PATH")), aptFix(pkg))
		return "", &r
	}
	return p, nil
}

// ipset: the tool, and a kernel that answers it (ip_set).
func (c *checker) ipset(ctx context.Context) Result {
	const name = "ipset"
	p, res := c.tool(name, "ipset", "ipset")
	if res != nil {
		return *res
	}
	if _, err := c.cfg.Run(ctx, p, "list", "-n"); err != nil {
		return failed(name, fmt.Sprintf("the kernel refuses IP sets (%v)", err),
			"load the ip_set module (modprobe ip_set) or use a kernel with CONFIG_IP_SET (Debian's linux-image-amd64 has it)")
	}
	return ok(name, p)
}

// conntrack: the policy rules match on connection state (-m conntrack).
func (c *checker) conntrack() Result {
	const name = "conntrack"
	if _, err := os.Stat(c.cfg.ProcSys + "/net/netfilter/nf_conntrack_max"); err == nil {
		return ok(name, "connection tracking is active in the kernel")
	}
	return c.module(name, "nf_conntrack", "connection tracking (nf_conntrack)")
}

// flowLogs: the NFLOG target and nfnetlink_log, with flow logs on.
func (c *checker) flowLogs() []Result {
	if !c.cfg.FlowLogs {
		return nil
	}
	out := []Result{c.module("flow logs", "xt_NFLOG", "the NFLOG target"), c.module("flow logs", "nfnetlink_log", "NFLOG to user space")}
	for i := range out {
		if out[i].Severity == Failed {
			out[i].Fix += ", or set flow_logs to false"
		}
	}
	return out
}

// errNoModule says a kernel module is neither loaded nor installed.
var errNoModule = errors.New("kernel module not available")
