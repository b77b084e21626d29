package fleet

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// daemonBin is the binary TestMain builds.
var daemonBin string

func TestMain(m *testing.M) { os.Exit(buildAndRun(m)) }

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "calico-fleet-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	daemonBin = filepath.Join(dir, "calico-libnetwork")
	cmd := exec.Command("go", "build", "-o", daemonBin, "github.com/calico-docker/calico-libnetwork/cmd/calico-libnetwork")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "fleet: build the daemon: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// daemon is one calico-libnetwork process against an external etcd.
type daemon struct {
	t         testing.TB
	pluginDir string
	logPath   string
	cmd       *exec.Cmd
	exited    chan error
}

// startDaemon runs the daemon with node name node against etcd
// endpoints, serving its sockets in pluginDir, with extra NAME=value
// settings; t.Cleanup stops it by PID (SIGTERM, SIGKILL after 30s).
func startDaemon(t testing.TB, node, pluginDir string, endpoints []string, extraEnv ...string) *daemon {
	t.Helper()
	testenv.RequireRoot(t)
	dataDir := t.TempDir()
	d := &daemon{t: t, pluginDir: pluginDir, logPath: filepath.Join(dataDir, "daemon.log")}
	env := append(os.Environ(), "NODENAME="+node, "ETCD_ENDPOINTS="+strings.Join(endpoints, ","),
		"CALICO_DATA_DIR="+dataDir, "CALICO_PLUGIN_DIR="+pluginDir, "CALICO_LOG_FILE=none", "CALICO_LOG_LEVEL=info")
	if b := os.Getenv("CALICO_TEST_IPTABLES_BACKEND"); b == "legacy" || b == "nft" {
		env = append(env, "CALICO_IPTABLES_BACKEND="+b)
	}
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command(daemonBin)
	d.cmd.Env, d.cmd.Stdout, d.cmd.Stderr = append(env, extraEnv...), logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	d.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(d.cmd, d.exited)
	t.Cleanup(func() {
		d.stop()
		testenv.CleanHostDataplane(t, defaultPool)
		if t.Failed() {
			d.dumpLog()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for !testenv.PluginAnswers(filepath.Join(pluginDir, "calico.sock")) || !testenv.PluginAnswers(filepath.Join(pluginDir, "calico-ipam.sock")) {
		select {
		case err := <-d.exited:
			d.exited <- err
			t.Fatalf("daemon exited during start-up: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("daemon did not serve its plugin sockets within 60s")
		}
	}
	return d
}

func (d *daemon) stop() { testenv.StopDaemon(d.t, d.cmd, d.exited) }

func (d *daemon) dumpLog() {
	b, _ := os.ReadFile(d.logPath)
	d.t.Logf("daemon log (last lines of %s):\n%s", d.logPath, tail(string(b), 60))
}

// rss is the daemon's resident set size in bytes.
func (d *daemon) rss() float64 {
	d.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		d.t.Fatalf("read daemon status: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	d.t.Fatal("no VmRSS in /proc/<pid>/status")
	return 0
}

// cpuTime is the daemon's user+system CPU time so far: its own, and its
// children's that it waited for (iptables-restore, ipset and the like).
func (d *daemon) cpuTime() (self, children time.Duration) {
	d.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
	if err != nil {
		d.t.Fatalf("read daemon stat: %v", err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 on
	ticks := func(i int) int64 { v, _ := strconv.ParseInt(f[i], 10, 64); return v }
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ticks(11)+ticks(12)) * time.Second / clkTck, time.Duration(ticks(13)+ticks(14)) * time.Second / clkTck
}

// cpuShare measures the daemon's CPU use while during runs, as shares of
// one core: its own, and its children's.
func (d *daemon) cpuShare(during func()) (self, children float64) {
	s0, c0 := d.cpuTime()
	t0 := time.Now()
	during()
	s1, c1 := d.cpuTime()
	wall := float64(time.Since(t0))
	return float64(s1-s0) / wall, float64(c1-c0) / wall
}

// settle waits until the daemon has digested what it was given: its CPU
// use stays under 5% of a core for 3s in a row (at most limit). It
// returns how long that took.
func (d *daemon) settle(limit time.Duration) time.Duration {
	start := time.Now()
	for quiet := 0; quiet < 3 && time.Since(start) < limit; {
		if self, kids := d.cpuShare(func() { time.Sleep(time.Second) }); self+kids < 0.05 {
			quiet++
		} else {
			quiet = 0
		}
	}
	if time.Since(start) >= limit {
		d.t.Logf("daemon still busy after %v; measuring anyway", limit)
	}
	return time.Since(start)
}
