package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// EtcdProcess is a real etcd server process (the etcd binary, from
// Debian's etcd-server, installed by hack/deps.sh) on loopback, for tests
// that break it: SIGSTOP it, SIGKILL it and start it again on the same
// data and ports.
type EtcdProcess struct {
	t         testing.TB
	dir       string
	ports     []int
	cmd       *exec.Cmd
	done      chan struct{}
	Endpoints []string
}

// StartEtcdProcess starts etcd and waits until it serves; it is killed
// (by PID) when the test ends. It skips the test when etcd is not installed.
func StartEtcdProcess(t testing.TB) *EtcdProcess {
	t.Helper()
	RequireTools(t, "etcd")
	ports, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	p := &EtcdProcess{t: t, dir: t.TempDir(), ports: ports,
		Endpoints: []string{fmt.Sprintf("http://127.0.0.1:%d", ports[0])}}
	p.Start()
	t.Cleanup(func() {
		if p.cmd != nil {
			p.Cont()
			p.Kill()
		}
	})
	return p
}

// Start (re)starts the process on the same data and ports and waits until
// it answers.
func (p *EtcdProcess) Start() {
	p.t.Helper()
	client := fmt.Sprintf("http://127.0.0.1:%d", p.ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", p.ports[1])
	logf, err := os.OpenFile(filepath.Join(p.dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command("etcd", "--name", "fault", "--data-dir", filepath.Join(p.dir, "data"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "fault="+peer, "--log-level", "error",
		"--heartbeat-interval", "20", "--election-timeout", "200")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		p.t.Fatalf("start etcd: %v", err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}(p.cmd, p.done)
	cli := p.Client()
	defer cli.Close()
	err = poll(20*time.Second, 50*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := cli.Get(ctx, "/ping")
		return err
	})
	if err != nil {
		p.t.Fatalf("etcd process did not serve on %s: %v (log in %s)", client, err, p.dir)
	}
}

// Client returns a new client of the process; the caller closes it.
func (p *EtcdProcess) Client() *clientv3.Client {
	p.t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: p.Endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		p.t.Fatal(err)
	}
	return cli
}

func (p *EtcdProcess) signal(sig syscall.Signal) {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// Stop freezes the process (SIGSTOP): connections stay open, nothing answers.
func (p *EtcdProcess) Stop() { p.signal(syscall.SIGSTOP) }

// Cont resumes a frozen process (SIGCONT).
func (p *EtcdProcess) Cont() { p.signal(syscall.SIGCONT) }

// Kill kills the process (SIGKILL) and waits until it is gone.
func (p *EtcdProcess) Kill() {
	p.signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("etcd pid %d did not exit after SIGKILL", p.cmd.Process.Pid)
	}
	p.cmd = nil
}
