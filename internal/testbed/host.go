package testbed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/dockerfake"
	"github.com/calico-docker/calico-libnetwork/routing/status"
)

// Host is one "host": a namespace on the LAN running a daemon.
type Host struct {
	Name      string
	NS        *NS
	IP        netip.Prefix // its LAN address, e.g. 10.99.0.1/24
	IP6       netip.Prefix // its IPv6 LAN address (Config.IPv6), e.g. fd00:99::1/64
	Subnet    int
	Docker    *dockerfake.Engine
	Engine    *Dockerd // a real Docker engine (HostConfig.Docker), else nil
	DataDir   string
	PluginDir string
	LogPath   string

	bed    *Bed
	env    []string
	cmd    *exec.Cmd
	exited chan error
}

func (b *Bed) newHost(hc HostConfig, index int) (*Host, error) {
	n, err := b.track(hc.Name)
	if err != nil {
		return nil, err
	}
	h := &Host{Name: hc.Name, NS: n, IP: netip.PrefixFrom(addrIn(hc.Subnet, index), 24), Subnet: hc.Subnet, bed: b,
		DataDir:   filepath.Join(b.Dir, hc.Name, "data"),
		PluginDir: filepath.Join(b.Dir, hc.Name, "plugins"),
		LogPath:   filepath.Join(b.Dir, hc.Name, "daemon.log")}
	if err := b.attach(n, hc.Subnet, h.IP.Addr(), "v"+hc.Name); err != nil {
		return nil, fmt.Errorf("host %s: %w", hc.Name, err)
	}
	if err := os.MkdirAll(h.DataDir, 0o755); err != nil {
		return nil, err
	}
	if h.Docker, err = dockerfake.Start(filepath.Join(b.Dir, hc.Name, "docker.sock")); err != nil {
		return nil, err
	}
	etcdEnv := b.EtcdEnv()
	if b.cfg.Join {
		etcdEnv = []string{"ETCD_ENDPOINTS="}
	}
	h.env = append(append(append(os.Environ(), etcdEnv...), "NODENAME="+hc.Name,
		"CALICO_DATA_DIR="+h.DataDir, "CALICO_PLUGIN_DIR="+h.PluginDir, "DOCKER_HOST="+h.Docker.Host(),
		"CALICO_NETWORK="+b.cfg.Pool.String(), "CALICO_LOG_FILE=none", "CALICO_LOG_LEVEL=debug",
		"CALICO_RESYNC_INTERVAL=10s", "CALICO_IPAM_GC_INTERVAL=0", "CALICO_METRICS_ADDR="),
		b.cfg.Env...)
	if b.cfg.IPv6 {
		h.IP6 = netip.PrefixFrom(addr6In(hc.Subnet, index), 64)
		h.env = append(h.env, "CALICO_IPV6=true", "IP6="+h.IP6.String())
	}
	if hc.Docker {
		if err := h.startDockerd(); err != nil {
			return nil, err
		}
		h.env = append(h.env, "DOCKER_HOST="+h.Engine.Host) // the last value wins
	}
	h.env = append(h.env, hc.Env...)
	return h, nil
}

// SetEnv sets (or overrides) a variable of the daemon's environment for
// its next Start.
func (h *Host) SetEnv(kv ...string) { h.env = append(h.env, kv...) }

// Start starts the daemon and waits until its plugin and status sockets
// answer.
func (h *Host) Start() error {
	if h.cmd != nil {
		return fmt.Errorf("host %s: daemon already running (pid %d)", h.Name, h.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(h.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("ip", "netns", "exec", h.NS.Name, h.bed.cfg.Daemon)
	cmd.Env, cmd.Stdout, cmd.Stderr = h.env, logf, logf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("host %s: start daemon: %w", h.Name, err)
	}
	h.cmd, h.exited = cmd, make(chan error, 1)
	go func() { h.exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !h.answers() {
		select {
		case err := <-h.exited:
			h.cmd = nil
			return fmt.Errorf("host %s: daemon exited during start-up: %v\n%s", h.Name, err, h.LogTail(30))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("host %s: daemon not serving after 60s\n%s", h.Name, h.LogTail(30))
		}
	}
	return nil
}

func (h *Host) answers() bool {
	for _, s := range []string{h.PluginDir + "/calico.sock", h.PluginDir + "/calico-ipam.sock", h.StatusSocket()} {
		c, err := net.DialTimeout("unix", s, time.Second)
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}

// StatusSocket is the daemon's status endpoint.
func (h *Host) StatusSocket() string { return filepath.Join(h.DataDir, status.SocketName) }

// Status reads the daemon's routing status.
func (h *Host) Status() (*status.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return status.Fetch(ctx, h.StatusSocket())
}

// PID is the daemon's process ID (0 when it is not running).
func (h *Host) PID() int {
	if h.cmd == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

// Stop sends SIGTERM to the daemon (SIGKILL after 30s) and waits.
func (h *Host) Stop() error { return h.signal(syscall.SIGTERM, 30*time.Second) }

// Kill kills the daemon with SIGKILL, as a crash would end it.
func (h *Host) Kill() error { return h.signal(syscall.SIGKILL, 10*time.Second) }

func (h *Host) signal(sig syscall.Signal, timeout time.Duration) error {
	if h.cmd == nil {
		return nil
	}
	_ = h.cmd.Process.Signal(sig)
	var err error
	select {
	case err = <-h.exited:
	case <-time.After(timeout):
		_ = h.cmd.Process.Kill()
		err = <-h.exited
		err = fmt.Errorf("host %s: daemon did not stop on %v within %v: %w", h.Name, sig, timeout, err)
	}
	h.cmd = nil
	if sig == syscall.SIGKILL || err == nil {
		return nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && sig == syscall.SIGTERM {
		return fmt.Errorf("host %s: daemon exited with %v on SIGTERM\n%s", h.Name, err, h.LogTail(20))
	}
	return err
}

func (h *Host) close() error {
	// The engine first: removing its containers calls the daemon.
	err := errors.Join(h.Engine.Stop(), h.Stop())
	if h.Docker != nil {
		err = errors.Join(err, h.Docker.Close())
	}
	return err
}

// RSS is the daemon's resident memory in bytes.
func (h *Host) RSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", h.PID()))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// LogTail returns the last n lines of the daemon's log.
func (h *Host) LogTail(n int) string { return tail(h.LogPath, n) }
