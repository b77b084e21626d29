package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// pluginDir is where dockerd looks for plugin sockets; it cannot be changed.
const pluginDir = "/run/docker/plugins"

// daemonBin and calicoctlBin are the binaries TestMain builds.
var daemonBin, calicoctlBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "calico-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	daemonBin, calicoctlBin = filepath.Join(dir, "calico-libnetwork"), filepath.Join(dir, "calicoctl")
	for bin, pkg := range map[string]string{daemonBin: "cmd/calico-libnetwork", calicoctlBin: "cmd/calicoctl"} {
		cmd := exec.Command("go", "build", "-o", bin, "github.com/calico-docker/calico-libnetwork/"+pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: build %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

// daemon is one calico-libnetwork process with its own embedded etcd.
type daemon struct {
	t          testing.TB
	dataDir    string
	logPath    string
	clientPort int
	env        []string
	cmd        *exec.Cmd
	exited     chan error
}

// startDaemon runs the daemon against the test engine, with extra
// environment settings (NAME=value) if given; t.Cleanup stops it by PID.
func startDaemon(t testing.TB, dockerHost string, extraEnv ...string) *daemon {
	t.Helper()
	testenv.RequireRoot(t)
	lockPluginDir(t)
	for _, name := range []string{"calico", "calico-ipam"} {
		if answers(filepath.Join(pluginDir, name+".sock")) {
			t.Fatalf("%s/%s.sock is served by another process (a calico-libnetwork left running?); stop it first", pluginDir, name)
		}
	}
	d := &daemon{t: t, dataDir: t.TempDir()}
	d.logPath = filepath.Join(d.dataDir, "daemon.log")
	d.env = append(os.Environ(),
		"DOCKER_HOST="+dockerHost, "NODENAME=calico-e2e", "ETCD_ENDPOINTS=",
		"CALICO_DATA_DIR="+d.dataDir, "CALICO_PLUGIN_DIR="+pluginDir,
		"CALICO_LOG_LEVEL=debug", "CALICO_RESYNC_INTERVAL=10s", "CALICO_LOG_FILE=none")
	if b := os.Getenv("CALICO_TEST_IPTABLES_BACKEND"); b == "legacy" || b == "nft" {
		d.env = append(d.env, "CALICO_IPTABLES_BACKEND="+b)
	}
	d.env = append(d.env, extraEnv...)
	links := testenv.WorkloadLinks(t)
	// Free ports can be taken by another process before the daemon's
	// embedded etcd listens on them (the tests of other packages run
	// beside these): then the daemon exits saying so, and it starts
	// again on other ports.
	for attempt := 1; ; attempt++ {
		ports := freePorts(t, 2)
		d.clientPort = ports[0]
		env := append(slices.Clone(d.env), fmt.Sprintf("CALICO_ETCD_CLIENT_PORT=%d", ports[0]), fmt.Sprintf("CALICO_ETCD_PEER_PORT=%d", ports[1]))
		logged := logSize(d.logPath)
		err := d.tryStart(env)
		if err == nil {
			d.env = env
			break
		}
		if attempt < 3 && errors.Is(err, errExited) && strings.Contains(logSince(d.logPath, logged), "address already in use") {
			t.Logf("daemon start-up, attempt %d: a port was taken; again on other ports, from an empty data dir", attempt)
			entries, _ := os.ReadDir(d.dataDir)
			for _, e := range entries {
				if e.Name() != filepath.Base(d.logPath) {
					_ = os.RemoveAll(filepath.Join(d.dataDir, e.Name()))
				}
			}
			continue
		}
		d.dumpLog()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.stop()
		cleanHostDataplane(t, defaultPool, subnetPool, ipv6Pool, ipv6SubnetPool, ipv6SubnetPool4)
		// The test's containers went before the daemon (their cleanups
		// run first): none of the veths it made may be left.
		testenv.CheckNoNewWorkloadLinks(t, links)
		if t.Failed() {
			d.dumpLog()
		} else {
			d.logWarnings()
		}
	})
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	if err := d.tryStart(d.env); err != nil {
		d.dumpLog()
		d.t.Fatal(err)
	}
}

// errExited: the daemon exited during start-up.
var errExited = errors.New("daemon exited during start-up")

// tryStart runs the daemon with env and waits until it serves its plugin
// sockets (60 s at most).
func (d *daemon) tryStart(env []string) error {
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	d.cmd = exec.Command(daemonBin)
	d.cmd.Env, d.cmd.Stdout, d.cmd.Stderr = env, logf, logf
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	d.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(d.cmd, d.exited)
	deadline := time.Now().Add(60 * time.Second)
	for !answers(filepath.Join(pluginDir, "calico.sock")) || !answers(filepath.Join(pluginDir, "calico-ipam.sock")) {
		select {
		case err := <-d.exited:
			d.exited <- err
			return fmt.Errorf("%w: %v", errExited, err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("daemon did not serve its plugin sockets within 60s")
		}
	}
	return nil
}

// logSize is the length of the log file at path (0 when there is none).
func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// logSince is what the log file at path holds after its first off bytes.
func logSince(path string, off int64) string {
	b, _ := os.ReadFile(path)
	if int64(len(b)) < off {
		return ""
	}
	return string(b[off:])
}

// stop sends SIGTERM (SIGKILL after 30s) to the daemon's PID and waits.
func (d *daemon) stop() { testenv.StopDaemon(d.t, d.cmd, d.exited) }

func (d *daemon) restart() {
	d.t.Helper()
	d.stop()
	for _, name := range []string{"calico", "calico-ipam"} {
		if _, err := os.Stat(filepath.Join(pluginDir, name+".sock")); !os.IsNotExist(err) {
			d.t.Errorf("%s.sock left behind after SIGTERM (%v)", name, err)
		}
	}
	d.start()
}

func (d *daemon) dumpLog() {
	b, _ := os.ReadFile(d.logPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	d.t.Logf("daemon log (last %d lines of %s):\n%s", min(80, len(lines)), d.logPath, strings.Join(lines[max(0, len(lines)-80):], "\n"))
}

// logWarnings shows the daemon's warnings and errors, for diagnosis.
func (d *daemon) logWarnings() {
	b, _ := os.ReadFile(d.logPath)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 {
		d.t.Logf("daemon warnings and errors (%d):\n%s", len(lines), strings.Join(lines[:min(len(lines), 40)], "\n"))
	}
}

// etcd returns a client of the daemon's embedded etcd.
func (d *daemon) etcd() *clientv3.Client {
	d.t.Helper()
	f := pki.NodeFiles(pki.Dir(d.dataDir)) // the daemon's own certificate
	tlsCfg, err := transport.TLSInfo{CertFile: f.Cert, KeyFile: f.Key, TrustedCAFile: f.CA}.ClientConfig()
	if err != nil {
		d.t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{fmt.Sprintf("https://127.0.0.1:%d", d.clientPort)}, DialTimeout: 5 * time.Second, TLS: tlsCfg})
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { cli.Close() })
	return cli
}

// lockPluginDir, answers and freePorts: see package testenv.
func lockPluginDir(t testing.TB) { t.Helper(); testenv.LockPluginDir(t) }

func answers(path string) bool { return testenv.PluginAnswers(path) }

func freePorts(t testing.TB, n int) []int { t.Helper(); return testenv.FreePorts(t, n) }
