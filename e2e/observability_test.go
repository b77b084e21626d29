package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dipam "github.com/docker/go-plugins-helpers/ipam"
	"github.com/docker/go-plugins-helpers/network"
	"github.com/vishvananda/netns"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// Metrics and health are tested on a daemon run in a network namespace of
// its own (`ip netns exec`), so its dataplane, its embedded etcd's ports
// and its metrics port touch nothing of the host; only its plugin sockets
// (in a temp dir, not /run/docker/plugins) and log file are on the host's
// file system. The test reaches the metrics port from a thread inside the
// namespace.

const metricsAddr = "127.0.0.1:9091"

// nsProc is a process run in a named network namespace, stopped by PID.
type nsProc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	exited chan error
	log    string
}

func startInNS(t testing.TB, nsName, logPath string, env []string, bin string, args ...string) *nsProc {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// ip netns exec execs bin in place: the PID is bin's.
	cmd := exec.Command("ip", append([]string{"netns", "exec", nsName, bin}, args...)...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &nsProc{t: t, name: filepath.Base(bin), cmd: cmd, exited: make(chan error, 1), log: logPath}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(p.stop)
	return p
}

// stop sends SIGTERM (SIGKILL after 30s) and waits; it may be called again.
func (p *nsProc) stop() {
	select {
	case err := <-p.exited:
		p.exited <- err
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(30 * time.Second):
		p.t.Errorf("%s (pid %d) ignored SIGTERM for 30s; killing it", p.name, p.cmd.Process.Pid)
		_ = p.cmd.Process.Kill()
		select {
		case err := <-p.exited:
			p.exited <- err
		case <-time.After(10 * time.Second):
			p.t.Errorf("%s (pid %d) survived SIGKILL for 10s", p.name, p.cmd.Process.Pid)
		}
	}
}

// exitErr returns how the process ended, leaving it to be read again.
func (p *nsProc) exitErr() error {
	err := <-p.exited
	p.exited <- err
	return err
}

func (p *nsProc) running() bool {
	select {
	case err := <-p.exited:
		p.exited <- err
		return false
	default:
		return true
	}
}

func (p *nsProc) dumpLog() {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	p.t.Logf("%s log (last %d lines):\n%s", p.name, min(60, len(lines)), strings.Join(lines[max(0, len(lines)-60):], "\n"))
}

// nsDaemon is calico-libnetwork in its own namespace.
type nsDaemon struct {
	*nsProc
	ns        netns.NsHandle
	dir       string
	pluginDir string
	logFile   string
}

func startNSDaemon(t *testing.T, extraEnv ...string) *nsDaemon {
	t.Helper()
	testenv.RequireRoot(t)
	ns, nsName := testenv.NewNetNS(t)
	return startNSDaemonIn(t, ns, nsName, extraEnv...)
}

// startNSDaemonIn starts the daemon in the namespace and waits for its
// sockets; extraEnv overrides the test's settings.
func startNSDaemonIn(t *testing.T, ns netns.NsHandle, nsName string, extraEnv ...string) *nsDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &nsDaemon{ns: ns, dir: dir, pluginDir: filepath.Join(dir, "plugins"), logFile: filepath.Join(dir, "log", "calico.log")}
	env := append(os.Environ(),
		"NODENAME=calico-obs", "ETCD_ENDPOINTS=", "CALICO_DATA_DIR="+filepath.Join(dir, "data"),
		"CALICO_PLUGIN_DIR="+d.pluginDir, "CALICO_METRICS_ADDR="+metricsAddr, "CALICO_LOG_FILE="+d.logFile,
		"CALICO_LOG_LEVEL=debug", "CALICO_RESYNC_INTERVAL=5s", "DOCKER_HOST=unix://"+filepath.Join(dir, "no-docker.sock"),
		"CALICO_NETWORKING_BACKEND=none") // one host: no BGP (the namespace has no address for it)
	d.nsProc = startInNS(t, nsName, filepath.Join(dir, "stderr.log"), append(env, extraEnv...), daemonBin)
	t.Cleanup(func() {
		if t.Failed() {
			d.dumpLog()
		}
	})
	testenv.Eventually(t, 60*time.Second, 100*time.Millisecond, func() error {
		if !d.running() { // the cleanup shows the log
			t.Fatalf("daemon exited during start-up: %v", d.exitErr())
		}
		for _, s := range []string{"calico", "calico-ipam"} {
			if !answers(filepath.Join(d.pluginDir, s+".sock")) {
				return fmt.Errorf("%s.sock not served yet", s)
			}
		}
		return nil
	})
	return d
}

// get fetches a path of the metrics server, from inside the namespace.
func (d *nsDaemon) get(path string) (int, string, error) {
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, addr string) (conn net.Conn, err error) {
			err = testenv.DoInNS(d.ns, func() error {
				var derr error
				conn, derr = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				return derr
			})
			return conn, err
		}}}
	resp, err := c.Get("http://" + metricsAddr + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// call posts a plugin request to a socket and decodes the answer; a
// plugin error comes back as an error.
func (d *nsDaemon) call(sock, path string, req, resp any) error {
	body, _ := json.Marshal(req)
	c := http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", filepath.Join(d.pluginDir, sock+".sock"))
		}}}
	r, err := c.Post("http://plugin"+path, "application/vnd.docker.plugins.v1.2+json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d: %s", path, r.StatusCode, b)
	}
	if resp != nil {
		return json.Unmarshal(b, resp)
	}
	return nil
}

func dockerID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// scriptedWorkload drives both drivers as Docker would for a network with
// two containers, plus one bad request, and returns the number of requests
// per "driver/method/result".
func scriptedWorkload(t *testing.T, d *nsDaemon) map[string]int {
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{}
	count := func(key string) { want[key]++ }
	for _, s := range []string{"calico", "calico-ipam"} {
		must(d.call(s, "/Plugin.Activate", struct{}{}, nil))
		count("plugin/Activate/ok")
	}
	must(d.call("calico-ipam", "/IpamDriver.GetCapabilities", struct{}{}, nil))
	count("ipam/GetCapabilities/ok")
	var pool dipam.RequestPoolResponse
	must(d.call("calico-ipam", "/IpamDriver.RequestPool", dipam.RequestPoolRequest{AddressSpace: "CalicoGlobalAddressSpace"}, &pool))
	count("ipam/RequestPool/ok")
	var addrs []string
	for range 3 {
		var a dipam.RequestAddressResponse
		must(d.call("calico-ipam", "/IpamDriver.RequestAddress", dipam.RequestAddressRequest{PoolID: pool.PoolID}, &a))
		addrs = append(addrs, a.Address)
		count("ipam/RequestAddress/ok")
	}
	if err := d.call("calico-ipam", "/IpamDriver.RequestAddress", dipam.RequestAddressRequest{PoolID: "no-such-pool"}, nil); err == nil {
		t.Fatal("RequestAddress from an unknown pool succeeded")
	}
	count("ipam/RequestAddress/error")
	netID, ep1, ep2 := dockerID(), dockerID(), dockerID()
	must(d.call("calico", "/NetworkDriver.CreateNetwork", network.CreateNetworkRequest{
		NetworkID: netID,
		Options:   map[string]any{"com.docker.network.generic": map[string]any{"org.projectcalico.profile": "obs"}},
		IPv4Data:  []*network.IPAMData{{AddressSpace: "CalicoGlobalAddressSpace", Pool: pool.Pool, Gateway: "0.0.0.0/0"}},
	}, nil))
	count("network/CreateNetwork/ok")
	for i, ep := range []string{ep1, ep2} {
		must(d.call("calico", "/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{
			NetworkID: netID, EndpointID: ep, Interface: &network.EndpointInterface{Address: addrs[i]}}, nil))
		count("network/CreateEndpoint/ok")
	}
	// The veth is made in the daemon's namespace; nobody moves it away.
	must(d.call("calico", "/NetworkDriver.Join", network.JoinRequest{NetworkID: netID, EndpointID: ep1,
		SandboxKey: "/var/run/docker/netns/none"}, nil))
	count("network/Join/ok")
	must(d.call("calico", "/NetworkDriver.DeleteEndpoint", network.DeleteEndpointRequest{NetworkID: netID, EndpointID: ep2}, nil))
	count("network/DeleteEndpoint/ok")
	must(d.call("calico-ipam", "/IpamDriver.ReleaseAddress", dipam.ReleaseAddressRequest{PoolID: pool.PoolID, Address: strings.Split(addrs[1], "/")[0]}, nil))
	must(d.call("calico-ipam", "/IpamDriver.ReleaseAddress", dipam.ReleaseAddressRequest{PoolID: pool.PoolID, Address: strings.Split(addrs[2], "/")[0]}, nil))
	count("ipam/ReleaseAddress/ok")
	count("ipam/ReleaseAddress/ok")
	return want
}

// TestMetricsAfterWorkload: a scrape after a scripted workload over the
// real sockets shows exactly the requests made, the pool usage, the
// endpoint counts and a synced dataplane.
func TestMetricsAfterWorkload(t *testing.T) {
	d := startNSDaemon(t)
	_, before, err := d.get("/metrics") // start-up probed the sockets (Activate)
	if err != nil {
		t.Fatal(err)
	}
	want := scriptedWorkload(t, d)
	var page string
	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		code, body, err := d.get("/metrics")
		if err != nil || code != 200 {
			return fmt.Errorf("/metrics: %d %v", code, err)
		}
		page = body
		// The watcher hands the joined endpoint to felix asynchronously.
		// Routes: the workload's /32 and the blackhole of the node's block.
		for _, line := range []string{"calico_dataplane_endpoints 1", "calico_dataplane_routes 2", "calico_dataplane_in_sync 1"} {
			if !hasLine(page, line) {
				return fmt.Errorf("no %q yet", line)
			}
		}
		return nil
	})
	// Exactly the workload's requests were counted.
	was, now := requestCounts(before), requestCounts(page)
	for key := range now {
		if got := now[key] - was[key]; got != want[key] {
			t.Errorf("requests %s: %d during the workload, want %d", key, got, want[key])
		}
	}
	for key := range want {
		if _, ok := now[key]; !ok {
			t.Errorf("requests %s: no series", key)
		}
	}
	for _, line := range []string{
		`calico_plugin_request_duration_seconds_count{driver="ipam",method="RequestAddress"} 4`,
		`calico_ipam_pool_allocated_addresses{cidr="192.168.0.0/16",pool="default-ipv4-ippool"} 1`,
		`calico_ipam_node_allocated_addresses{cidr="192.168.0.0/16",pool="default-ipv4-ippool"} 1`,
		`calico_ipam_node_blocks{cidr="192.168.0.0/16",pool="default-ipv4-ippool"} 1`,
		`calico_ipam_pool_addresses{cidr="192.168.0.0/16",pool="default-ipv4-ippool"} 65536`,
		`calico_workload_endpoints{scope="node"} 1`,
		`calico_workload_endpoints{scope="cluster"} 1`,
		`calico_profiles 1`,
		`calico_network_policies 0`,
		`calico_metrics_source_up{source="ipam"} 1`,
		`calico_dataplane_apply_failures_total 0`,
		`calico_metrics_source_up{source="routing"} 1`,
		`calico_bgp_running 0`, // networking_backend none
	} {
		if !hasLine(page, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
	if !strings.Contains(page, `calico_datastore_request_duration_seconds_count{op="KV.Txn"}`) {
		t.Error("no datastore latency for KV.Txn")
	}
	if code, body, _ := d.get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d %s", code, body)
	}
	// The log went to the rotated file too.
	if b, err := os.ReadFile(d.logFile); err != nil || !strings.Contains(string(b), "msg=Ready") {
		t.Errorf("log file %s: %v; want the start-up records in it", d.logFile, err)
	}
}

var requestLine = regexp.MustCompile(`^calico_plugin_requests_total\{driver="(\w+)",method="(\w+)",result="(\w+)"\} (\d+)$`)

// requestCounts reads calico_plugin_requests_total as "driver/method/result" -> count.
func requestCounts(page string) map[string]int {
	out := map[string]int{}
	for _, l := range strings.Split(page, "\n") {
		if m := requestLine.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[4])
			out[m[1]+"/"+m[2]+"/"+m[3]] = n
		}
	}
	return out
}

func hasLine(page, line string) bool {
	for _, l := range strings.Split(page, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestReadinessFollowsEtcd: /readyz fails while the daemon's etcd is down
// and recovers when it is back; /healthz stays ok and the daemon runs on.
func TestReadinessFollowsEtcd(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "etcd")
	// etcd runs in the daemon's namespace; the daemon starts after it.
	ns, nsName := testenv.NewNetNS(t)
	dir := t.TempDir()
	etcdArgs := []string{"--name", "obs", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
		"--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
		"--initial-cluster", "obs=http://127.0.0.1:2380"}
	etcdLog := filepath.Join(dir, "etcd.log")
	etcd := startInNS(t, nsName, etcdLog, os.Environ(), "etcd", etcdArgs...)
	d := startNSDaemonIn(t, ns, nsName, "ETCD_ENDPOINTS=http://127.0.0.1:2379")
	ready := func(want int, text string) {
		t.Helper()
		testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
			code, body, err := d.get("/readyz")
			if err != nil || code != want || !strings.Contains(body, text) {
				return fmt.Errorf("/readyz = %d %q (%v), want %d with %q", code, body, err, want, text)
			}
			return nil
		})
	}
	ready(200, "ok")
	etcd.stop()
	ready(503, "[-] datastore: etcd [http://127.0.0.1:2379] does not answer")
	if code, body, err := d.get("/healthz"); err != nil || code != 200 {
		t.Errorf("/healthz while etcd is down = %d %q %v; the process is alive", code, body, err)
	}
	startInNS(t, nsName, etcdLog, os.Environ(), "etcd", etcdArgs...)
	ready(200, "ok")
	if !d.running() {
		t.Fatal("the daemon exited while etcd was down")
	}
	// And it still serves requests against the returned etcd.
	var pool dipam.RequestPoolResponse
	if err := d.call("calico-ipam", "/IpamDriver.RequestPool", dipam.RequestPoolRequest{}, &pool); err != nil {
		t.Errorf("RequestPool after etcd came back: %v", err)
	}
}
