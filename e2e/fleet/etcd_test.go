package fleet

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// etcdMember is one real etcd process (Debian's etcd binary) on loopback.
type etcdMember struct {
	t                         testing.TB
	name, dir                 string
	client, peer, metricsPort int
	cmd                       *exec.Cmd
	exited                    chan error
	args                      []string
}

func (m *etcdMember) clientURL() string { return fmt.Sprintf("http://127.0.0.1:%d", m.client) }

// startEtcd starts an n-member etcd cluster of real processes on loopback
// ports, each with its own metrics listener, and waits until every
// member serves. t.Cleanup kills each by PID.
func startEtcd(t testing.TB, n int) []*etcdMember {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Fatalf("no etcd binary: install Debian's etcd-server (hack/deps.sh does): %v", err)
	}
	ports := testenv.FreePorts(t, 3*n)
	ms := make([]*etcdMember, n)
	var initial []string
	for i := range n {
		ms[i] = &etcdMember{t: t, name: fmt.Sprintf("m%d", i), dir: t.TempDir(),
			client: ports[3*i], peer: ports[3*i+1], metricsPort: ports[3*i+2]}
		initial = append(initial, fmt.Sprintf("%s=http://127.0.0.1:%d", ms[i].name, ms[i].peer))
	}
	for _, m := range ms {
		m.args = []string{"--name", m.name, "--data-dir", filepath.Join(m.dir, "data"),
			"--listen-client-urls", m.clientURL(), "--advertise-client-urls", m.clientURL(),
			"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", m.peer),
			"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", m.peer),
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "fleet-" + strconv.Itoa(os.Getpid()),
			"--listen-metrics-urls", fmt.Sprintf("http://127.0.0.1:%d", m.metricsPort),
			"--heartbeat-interval", "100", "--election-timeout", "1000",
			"--logger", "zap", "--log-outputs", filepath.Join(m.dir, "etcd.log")}
		m.start()
		t.Cleanup(m.kill)
	}
	for _, m := range ms {
		m.waitHealthy(30 * time.Second)
	}
	return ms
}

func (m *etcdMember) start() {
	m.t.Helper()
	m.cmd = exec.Command("etcd", m.args...)
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("start etcd %s: %v", m.name, err)
	}
	m.exited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(m.cmd, m.exited)
}

// kill sends SIGKILL to the member's PID and waits for it.
func (m *etcdMember) kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	select {
	case err := <-m.exited:
		m.exited <- err
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	m.exited <- <-m.exited
}

func (m *etcdMember) waitHealthy(d time.Duration) {
	m.t.Helper()
	deadline := time.Now().Add(d)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", m.metricsPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-m.exited:
			m.exited <- err
			log, _ := os.ReadFile(filepath.Join(m.dir, "etcd.log"))
			m.t.Fatalf("etcd %s exited during start-up: %v\n%s", m.name, err, tail(string(log), 20))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("etcd %s not healthy within %v", m.name, d)
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// etcdCounters is what etcd's own /metrics says about the requests it served.
type etcdCounters struct {
	Unary     float64 // unary gRPC requests started (Range, Txn, Put, LeaseGrant, ...)
	WatchSent float64 // watch responses sent (events are batched into them)
	BytesIn   float64 // gRPC bytes received from clients
	BytesOut  float64 // gRPC bytes sent to clients
	ByMethod  map[string]float64
}

func (c etcdCounters) sub(o etcdCounters) etcdCounters {
	d := etcdCounters{Unary: c.Unary - o.Unary, WatchSent: c.WatchSent - o.WatchSent,
		BytesIn: c.BytesIn - o.BytesIn, BytesOut: c.BytesOut - o.BytesOut, ByMethod: map[string]float64{}}
	for k, v := range c.ByMethod {
		if v -= o.ByMethod[k]; v != 0 {
			d.ByMethod[k] = v
		}
	}
	return d
}

// counters scrapes the member's metrics.
func (m *etcdMember) counters() etcdCounters {
	m.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", m.metricsPort))
	if err != nil {
		m.t.Fatalf("scrape etcd metrics: %v", err)
	}
	defer resp.Body.Close()
	c := etcdCounters{ByMethod: map[string]float64{}}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		name := line[:i]
		switch {
		case strings.HasPrefix(name, "grpc_server_started_total{") && strings.Contains(name, `grpc_type="unary"`):
			c.Unary += v
			c.ByMethod[label(name, "grpc_method")] += v
		case strings.HasPrefix(name, "grpc_server_msg_sent_total{") && strings.Contains(name, `grpc_method="Watch"`):
			c.WatchSent += v
		case name == "etcd_network_client_grpc_received_bytes_total":
			c.BytesIn += v
		case name == "etcd_network_client_grpc_sent_bytes_total":
			c.BytesOut += v
		}
	}
	return c
}

func label(series, key string) string {
	_, rest, ok := strings.Cut(series, key+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// storeOf connects a Store to endpoints (the benchmark's own writer: the
// simulator and the probe policy go through package datastore).
func storeOf(t testing.TB, endpoints []string) *datastore.Store {
	t.Helper()
	cli, err := datastore.Connect(context.Background(), datastore.EtcdConfig{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return datastore.New(cli)
}
