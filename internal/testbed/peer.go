package testbed

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// AddPeer attaches a new namespace to LAN subnet s with address
// 10.99.s.<index> (another machine on the LAN: a BGP router, an outside
// host). RemovePeer deletes it (the test that added it, so that a later
// test, or the same one run again, can take the address), else Close.
func (b *Bed) AddPeer(role string, s, index int) (*NS, netip.Addr, error) {
	n, err := b.track(role)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	addr := addrIn(s, index)
	if err := b.attach(n, s, addr, "v"+role); err != nil {
		return nil, netip.Addr{}, err
	}
	return n, addr, nil
}

// RemovePeer deletes a namespace AddPeer made, and with it its link to the
// LAN.
func (b *Bed) RemovePeer(n *NS) error {
	b.mu.Lock()
	b.nss = slices.DeleteFunc(b.nss, func(x *NS) bool { return x == n })
	b.mu.Unlock()
	return n.delete()
}

// BIRD is a BIRD 2 daemon, in a namespace of the bed or (RunBIRD) in
// the test's own.
type BIRD struct {
	NS   *NS // nil: the test process's namespace
	IP   netip.Addr
	Sock string // control socket, for birdc -s
	conf string
	cmd  *exec.Cmd
	// remove deletes what StartBIRD made for it (nil: RunBIRD's).
	remove func() error
}

// StartBIRD starts bird in a new namespace on subnet 0 at 10.99.0.<index>
// with config (protocols; a router id and a device protocol are added).
// Its Close stops it and deletes the namespace and files (the bed's Close
// does too).
func (b *Bed) StartBIRD(role string, index int, config string) (*BIRD, error) {
	n, ip, err := b.AddPeer(role, 0, index)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(b.Dir, role)
	x, err := RunBIRD(dir, n, ip, config)
	if err != nil {
		return nil, errors.Join(err, b.RemovePeer(n))
	}
	x.remove = func() error { return errors.Join(b.RemovePeer(n), os.RemoveAll(dir)) }
	b.mu.Lock()
	b.birds = append(b.birds, x)
	b.mu.Unlock()
	return x, nil
}

// RunBIRD starts bird with its files in dir, inside n (nil: this
// process's namespace), with router id id and config (protocols; a device
// protocol is added). The caller stops it with Stop.
func RunBIRD(dir string, n *NS, id netip.Addr, config string) (*BIRD, error) {
	if _, err := exec.LookPath("bird"); err != nil {
		return nil, fmt.Errorf("BIRD needs %q on PATH (Debian bird2; hack/deps.sh installs it): %w", "bird", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	x := &BIRD{NS: n, IP: id, Sock: filepath.Join(dir, "bird.ctl"), conf: filepath.Join(dir, "bird.conf")}
	if err := x.write(config); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "bird.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := []string{"bird", "-f", "-c", x.conf, "-s", x.Sock}
	if n != nil {
		args = append([]string{"ip", "netns", "exec", n.Name}, args...)
	}
	x.cmd = exec.Command(args[0], args[1:]...)
	x.cmd.Stdout, x.cmd.Stderr = logf, logf
	if err := x.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bird: %w", err)
	}
	for i := 0; ; i++ {
		if _, err := x.Show("status"); err == nil {
			return x, nil
		}
		if i == 100 {
			x.Stop()
			log, _ := os.ReadFile(filepath.Join(dir, "bird.log"))
			return nil, fmt.Errorf("bird did not start: %s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (x *BIRD) write(config string) error {
	full := fmt.Sprintf("router id %s;\nprotocol device { scan time 10; }\n%s\n", x.IP, config)
	return os.WriteFile(x.conf, []byte(full), 0o644)
}

// Show runs `birdc show <args>` and returns its output.
func (x *BIRD) Show(args ...string) (string, error) {
	out, err := exec.Command("birdc", append([]string{"-s", x.Sock, "show"}, args...)...).CombinedOutput()
	return string(out), err
}

// RouteShows checks `birdc show route all <prefix>`: present with every
// want line fragment and none of the absent ones. It suits Eventually.
func (x *BIRD) RouteShows(prefix string, want []string, absent ...string) func() error {
	return func() error {
		out, err := x.Show("route", "all", prefix)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				return fmt.Errorf("want %q in:\n%s", w, out)
			}
		}
		for _, a := range absent {
			if strings.Contains(out, a) {
				return fmt.Errorf("want no %q in:\n%s", a, out)
			}
		}
		return nil
	}
}

// Configure replaces the protocols and makes bird reload its configuration.
func (x *BIRD) Configure(config string) error {
	if err := x.write(config); err != nil {
		return err
	}
	out, err := exec.Command("birdc", "-s", x.Sock, "configure").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Reconfigured") {
		return fmt.Errorf("birdc configure: %v: %s", err, out)
	}
	return nil
}

// Routes returns the prefixes of `show route` (best or not).
func (x *BIRD) Routes() (map[netip.Prefix]bool, error) {
	out, err := x.Show("route")
	if err != nil {
		return nil, fmt.Errorf("birdc show route: %v: %s", err, out)
	}
	got := map[netip.Prefix]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if p, err := netip.ParsePrefix(f[0]); err == nil {
			got[p] = true
		}
	}
	return got, nil
}

// Imported returns how many routes protocol proto has imported.
func (x *BIRD) Imported(proto string) (int, error) {
	out, err := x.Show("protocols", "all", proto)
	if err != nil {
		return 0, fmt.Errorf("birdc show protocols all %s: %v: %s", proto, err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "Routes:" && f[2] == "imported," {
			return strconv.Atoi(f[1])
		}
	}
	return 0, nil
}

// Established reports whether protocol proto's BGP session is up.
func (x *BIRD) Established(proto string) bool {
	out, err := x.Show("protocols", proto)
	return err == nil && strings.Contains(out, "Established")
}

// Close stops the daemon and deletes what StartBIRD made for it.
func (x *BIRD) Close() error {
	x.Stop()
	if x.remove == nil {
		return nil
	}
	return x.remove()
}

// Stop stops bird by PID and waits.
func (x *BIRD) Stop() {
	if x.cmd == nil || x.cmd.Process == nil {
		return
	}
	_ = x.cmd.Process.Signal(syscall.SIGTERM)
	waitOrKill(x.cmd, 10*time.Second)
	x.cmd = nil
}
