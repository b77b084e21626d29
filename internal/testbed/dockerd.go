package testbed

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Dockerd is a real Docker engine of one bed host (HostConfig.Docker):
// dockerd in the host's network namespace (nsenter) and in a mount namespace of its
// own, where
//   - a private tmpfs covers /run/docker and the host's plugin directory is
//     bind-mounted on /run/docker/plugins, so the engine finds that host's
//     calico drivers and no others;
//   - a private tmpfs covers /run/containerd, so dockerd starts its own
//     containerd under its exec root (dockerd 20.10 would otherwise use a
//     machine containerd whose socket is there) and the shims' sockets stay
//     private too;
//   - its data root, exec root, pid file, API socket and daemon.json are
//     under the host's directory of the bed.
//
// Every mount lives and dies with the processes of that mount namespace:
// Stop removes the engine's containers, stops dockerd by PID (it stops its
// containerd) and nothing remains on the machine.
type Dockerd struct {
	Host    string // its DOCKER_HOST, unix://...
	Dir     string
	LogPath string

	cmd    *exec.Cmd
	exited chan error
}

// dockerdScript runs as root inside `nsenter --net=NS unshare -m
// --propagation private` (not `ip netns exec`: that mounts a sysfs of the
// namespace over /sys and so hides the cgroup mounts dockerd needs): $1 is the plugin directory, the rest dockerd's
// arguments. /run/docker and /run/containerd exist on a machine with
// Docker; mkdir -p only covers one without.
const dockerdScript = `set -e
plugins=$1; shift
mkdir -p /run/docker /run/containerd
mount -t tmpfs -o mode=0700 calico-testbed /run/docker
mkdir /run/docker/plugins
mount --bind "$plugins" /run/docker/plugins
mount -t tmpfs -o mode=0700 calico-testbed /run/containerd
exec dockerd "$@"`

// startDockerd starts h's engine and waits (60s at most) until it answers.
func (h *Host) startDockerd() error {
	dir := filepath.Join(h.bed.Dir, h.Name, "engine")
	d := &Dockerd{Dir: dir, LogPath: filepath.Join(dir, "dockerd.log"), Host: "unix://" + filepath.Join(dir, "docker.sock")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(h.PluginDir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		return err
	}
	driver := os.Getenv("CALICO_TEST_STORAGE_DRIVER")
	if driver == "" {
		driver = "vfs"
	}
	logf, err := os.Create(d.LogPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	// --bridge=none: no default bridge network; the host's containers use
	// calico networks only.
	d.cmd = exec.Command("nsenter", "--net="+h.NS.Path, "unshare", "-m", "--propagation", "private",
		"sh", "-c", dockerdScript, "dockerd-testbed", h.PluginDir,
		"--config-file", filepath.Join(dir, "daemon.json"), "--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"), "--pidfile", filepath.Join(dir, "dockerd.pid"),
		"-H", d.Host, "--storage-driver", driver, "--bridge", "none", "--log-level", "warn")
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its own process group: a signal to the test's group does not reach it.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		return fmt.Errorf("host %s: start dockerd: %w", h.Name, err)
	}
	d.exited = make(chan error, 1)
	go func() { d.exited <- d.cmd.Wait() }()
	h.Engine = d
	deadline := time.Now().Add(60 * time.Second)
	for d.Docker("version") != nil {
		select {
		case err := <-d.exited:
			d.cmd = nil
			return fmt.Errorf("host %s: dockerd exited during start-up: %v\n%s", h.Name, err, tail(d.LogPath, 20))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			err := fmt.Errorf("host %s: dockerd not answering after 60s\n%s", h.Name, tail(d.LogPath, 20))
			return errors.Join(err, d.Stop())
		}
	}
	return nil
}

// Docker runs the docker CLI against the engine (30s at most) and returns
// an error carrying its output when it fails.
func (d *Dockerd) Docker(args ...string) error {
	_, err := d.Output(args...)
	return err
}

// Output runs the docker CLI against the engine (30s at most) and returns
// its output, trimmed.
func (d *Dockerd) Output(args ...string) (string, error) {
	cmd := exec.Command("timeout", append([]string{"30", "docker", "-H", d.Host}, args...)...)
	out, err := cmd.CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, s)
	}
	return s, nil
}

// CopyImage copies image from the engine at DOCKER_HOST from (docker save
// | docker load), so the engine needs no registry.
func (d *Dockerd) CopyImage(from, image string) error {
	save := exec.Command("docker", "-H", from, "save", image)
	load := exec.Command("docker", "-H", d.Host, "load", "-q")
	pipe, err := save.StdoutPipe()
	if err != nil {
		return err
	}
	var saveErr, loadOut strings.Builder
	save.Stderr = &saveErr
	load.Stdin, load.Stdout, load.Stderr = pipe, &loadOut, &loadOut
	if err := save.Start(); err != nil {
		return err
	}
	lerr := load.Run()
	if lerr != nil {
		_, _ = io.Copy(io.Discard, pipe)
	}
	serr := save.Wait()
	if lerr != nil || serr != nil {
		return fmt.Errorf("copy image %s: save: %v %s; load: %v %s", image, serr, saveErr.String(), lerr, loadOut.String())
	}
	return nil
}

// Stop removes the engine's containers (it has only the test's), then
// stops dockerd with SIGTERM (SIGKILL after 30s) and waits for it.
func (d *Dockerd) Stop() error {
	if d == nil || d.cmd == nil {
		return nil
	}
	var errs []error
	if ids, err := d.Output("ps", "-aq"); err == nil && ids != "" {
		errs = append(errs, d.Docker(append([]string{"rm", "-f"}, strings.Fields(ids)...)...))
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.exited
		errs = append(errs, fmt.Errorf("dockerd (pid %d) did not stop on SIGTERM within 30s", d.cmd.Process.Pid))
	}
	d.cmd = nil
	return errors.Join(errs...)
}

// Log returns the last n lines of dockerd's log.
func (d *Dockerd) Log(n int) string { return tail(d.LogPath, n) }

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
