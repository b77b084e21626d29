// Package testbed is a multi-host test bed on one machine: "hosts" that are
// network namespaces on a shared "LAN" namespace, one shared etcd, and on
// each host its own calico-libnetwork daemon process, driven through its
// plugin sockets exactly as Docker drives it. Routing tests (and others)
// build a Bed once per package and reuse it.
//
// # Layout
//
//	LAN namespace: bridges br0 10.99.0.254/24 and br1 10.99.1.254/24 (it
//	routes between them), etcd on 10.99.0.254:2379.
//	host i on subnet s: namespace with eth0 10.99.s.i/24 (a veth into
//	br<s>), default route via 10.99.s.254; its daemon runs there
//	(`ip netns exec`), with its own data and plugin directories and its own
//	fake Docker engine (package dockerfake) answering network and
//	container lookups.
//	AddPeer attaches further namespaces to the LAN (a BIRD, an "outside"
//	host).
//
// The test process reaches etcd through a dialer that connects from inside
// the LAN namespace, and the daemons through their unix sockets.
//
// Everything the bed starts is stopped by PID and everything it creates is
// deleted by exact name in Close (namespaces are named calt-<random>-<role>).
package testbed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/datastore/embedded/pki"
)

// Addresses of the LAN.
var (
	lanBase    = netip.MustParseAddr("10.99.0.0")
	etcdPort   = 2379
	DefaultNet = netip.MustParsePrefix("10.230.0.0/16") // the daemons' calico_network
)

// Subnet returns LAN subnet s (10.99.s.0/24).
func Subnet(s int) netip.Prefix {
	b := lanBase.As4()
	b[2] = byte(s)
	return netip.PrefixFrom(netip.AddrFrom4(b), 24)
}

// Subnet6 returns LAN subnet s's IPv6 prefix (fd00:99:0:s::/64; unique
// local, test only) in beds with Config.IPv6.
func Subnet6(s int) netip.Prefix {
	b := netip.MustParseAddr("fd00:99::").As16()
	b[7] = byte(s)
	return netip.PrefixFrom(netip.AddrFrom16(b), 64)
}

// Gateway6 returns the LAN namespace's IPv6 address on subnet s
// (fd00:99:0:s::fe).
func Gateway6(s int) netip.Addr { return addr6In(s, 0xfe) }

func addr6In(s, host int) netip.Addr {
	b := Subnet6(s).Addr().As16()
	b[15] = byte(host)
	return netip.AddrFrom16(b)
}

// Gateway returns the LAN namespace's address on subnet s (10.99.s.254).
func Gateway(s int) netip.Addr { return addrIn(s, 254) }

func addrIn(s, host int) netip.Addr {
	b := Subnet(s).Addr().As4()
	b[3] = byte(host)
	return netip.AddrFrom4(b)
}

// Config describes a bed.
type Config struct {
	Daemon string       // calico-libnetwork binary (see BuildDaemon); required
	Hosts  []HostConfig // default: host1, host2, host3 on subnet 0
	Pool   netip.Prefix // the daemons' calico_network; default DefaultNet
	Env    []string     // extra environment of every daemon
	// IPv6 gives the LAN and every host IPv6 addresses too (Subnet6), and
	// runs the daemons with CALICO_IPV6=true and IP6 set to the host's.
	IPv6 bool
	// Join runs the embedded etcd on the hosts instead of the bed's etcd:
	// the first host starts the cluster and the others join it by token
	// (join.go); b.Client and b.Store then reach the first host's member.
	Join bool
}

// HostConfig describes one host.
type HostConfig struct {
	Name   string
	Subnet int      // 0 or 1
	Env    []string // extra environment of its daemon
	// Manual: Start creates the host but does not start its daemon (Join
	// beds: the test joins it itself).
	Manual bool
	// Docker runs a real Docker engine for the host (Host.Engine, see
	// Dockerd), started before its daemon, which then talks to it; the
	// fake engine stays unused.
	Docker bool
}

// Bed is a running test bed.
type Bed struct {
	Dir    string
	LAN    *NS
	Hosts  []*Host
	Client *clientv3.Client // etcd, for the test's own reads and writes
	Store  *datastore.Store
	// EtcdEndpoint is etcd's URL as the hosts reach it.
	EtcdEndpoint string

	cfg  Config
	etcd *exec.Cmd

	etcdClientFiles pki.Files
	clusterCfg      datastore.EtcdConfig // Join beds: the first host's member
	mu              sync.Mutex
	nss             []*NS   // every namespace made, deleted by Close
	birds           []*BIRD // stopped by Close
}

// BuildDaemon builds calico-libnetwork into dir and returns its path.
func BuildDaemon(dir string) (string, error) {
	bin := filepath.Join(dir, "calico-libnetwork")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/calico-docker/calico-libnetwork/cmd/calico-libnetwork")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build calico-libnetwork: %v\n%s", err, out)
	}
	return bin, nil
}

// Start builds the LAN, starts etcd and every host's daemon, and waits
// until each serves its plugin sockets. On failure nothing is left behind.
func Start(cfg Config) (_ *Bed, err error) {
	if cfg.Daemon == "" {
		return nil, errors.New("testbed: Config.Daemon is required (see BuildDaemon)")
	}
	for _, tool := range []string{"ip", "etcd"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("testbed needs %q on PATH (hack/deps.sh installs it): %w", tool, err)
		}
	}
	if len(cfg.Hosts) == 0 {
		cfg.Hosts = []HostConfig{{Name: "host1"}, {Name: "host2"}, {Name: "host3"}}
	}
	if !cfg.Pool.IsValid() {
		cfg.Pool = DefaultNet
	}
	dir, err := os.MkdirTemp("", "calico-testbed-")
	if err != nil {
		return nil, err
	}
	b := &Bed{Dir: dir, cfg: cfg, EtcdEndpoint: fmt.Sprintf("https://%s:%d", Gateway(0), etcdPort)}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if err := b.buildLAN(); err != nil {
		return nil, err
	}
	if !cfg.Join {
		if err := b.startEtcd(); err != nil {
			return nil, err
		}
	}
	for i, hc := range cfg.Hosts {
		h, err := b.newHost(hc, i+1)
		if err != nil {
			return nil, err
		}
		b.Hosts = append(b.Hosts, h)
	}
	if cfg.Join {
		return b, b.startJoined()
	}
	errs := make([]error, len(b.Hosts))
	var wg sync.WaitGroup
	for i, h := range b.Hosts {
		if !cfg.Hosts[i].Manual {
			wg.Go(func() { errs[i] = h.Start() })
		}
	}
	wg.Wait()
	return b, errors.Join(errs...)
}

// track remembers a namespace for Close.
func (b *Bed) track(role string) (*NS, error) {
	n, err := newNS(role)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.nss = append(b.nss, n)
	b.mu.Unlock()
	return n, nil
}

// buildLAN makes the LAN namespace with its two bridges, routing between them.
func (b *Bed) buildLAN() error {
	lan, err := b.track("lan")
	if err != nil {
		return err
	}
	b.LAN = lan
	for s := range 2 {
		name := fmt.Sprintf("br%d", s)
		if err := lan.NL.LinkAdd(bridge(name)); err != nil {
			return fmt.Errorf("LAN bridge %s: %w", name, err)
		}
		if err := errorsJoin(lan.setUp(name), lan.addAddr(name, netip.PrefixFrom(Gateway(s), 24))); err != nil {
			return err
		}
		if b.cfg.IPv6 {
			if err := lan.addAddr6(name, netip.PrefixFrom(Gateway6(s), 64)); err != nil {
				return err
			}
		}
	}
	if b.cfg.IPv6 {
		if err := lan.sysctl("net/ipv6/conf/all/forwarding", "1"); err != nil {
			return err
		}
	}
	return lan.sysctl("net/ipv4/ip_forward", "1")
}

// attach connects a new namespace to LAN subnet s with address addr and a
// default route via the LAN.
func (b *Bed) attach(n *NS, s int, addr netip.Addr, lanSide string) error {
	if err := veth(n, "eth0", b.LAN, lanSide); err != nil {
		return err
	}
	br, err := b.LAN.NL.LinkByName(fmt.Sprintf("br%d", s))
	if err != nil {
		return err
	}
	side, err := b.LAN.NL.LinkByName(lanSide)
	if err != nil {
		return err
	}
	if err := b.LAN.NL.LinkSetMaster(side, br); err != nil {
		return err
	}
	if err := n.addAddr("eth0", netip.PrefixFrom(addr, 24)); err != nil {
		return err
	}
	if _, err = n.Run("ip", "route", "add", "default", "via", Gateway(s).String()); err != nil || !b.cfg.IPv6 {
		return err
	}
	if err := n.addAddr6("eth0", netip.PrefixFrom(addr6In(s, int(addr.As4()[3])), 64)); err != nil {
		return err
	}
	_, err = n.Run("ip", "-6", "route", "add", "default", "via", Gateway6(s).String())
	return err
}

// startEtcd runs the etcd server (Debian's binary: an external etcd) in
// the LAN namespace with TLS and client-certificate auth from a CA the bed
// makes, and connects to it.
func (b *Bed) startEtcd() error {
	tlsFiles, err := b.makeEtcdPKI()
	if err != nil {
		return err
	}
	data := filepath.Join(b.Dir, "etcd")
	logf, err := os.Create(filepath.Join(b.Dir, "etcd.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	peer := "http://127.0.0.1:2380"
	b.etcd = exec.Command("ip", "netns", "exec", b.LAN.Name, "etcd", "--name", "bed", "--data-dir", data,
		"--listen-client-urls", fmt.Sprintf("https://0.0.0.0:%d", etcdPort), "--advertise-client-urls", b.EtcdEndpoint,
		"--cert-file", tlsFiles.server.Cert, "--key-file", tlsFiles.server.Key,
		"--trusted-ca-file", tlsFiles.server.CA, "--client-cert-auth",
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "bed="+peer,
		"--unsafe-no-fsync", "--log-level", "error")
	b.etcd.Stdout, b.etcd.Stderr = logf, logf
	if err := b.etcd.Start(); err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		cli, err := datastore.Connect(ctx, b.EtcdConfig(time.Second))
		if err == nil {
			b.Client, b.Store = cli, datastore.New(cli)
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("etcd did not start: %w (log: %s)", err, filepath.Join(b.Dir, "etcd.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// bedPKI are the bed etcd's certificate files: the server's, and the one
// client certificate the hosts and the test share.
type bedPKI struct{ server, client pki.Files }

// makeEtcdPKI makes a CA, the server's certificate for the LAN address and
// a client certificate, in b.Dir/pki.
func (b *Bed) makeEtcdPKI() (bedPKI, error) {
	dir := filepath.Join(b.Dir, "pki")
	ca, _, err := pki.LoadOrCreateCA(dir, time.Now())
	if err != nil {
		return bedPKI{}, err
	}
	out := bedPKI{client: pki.NodeFiles(dir)}
	if err := pki.EnsureNodeCert(dir, ca, "bed-client", nil, time.Now()); err != nil {
		return bedPKI{}, err
	}
	sdir := filepath.Join(dir, "server")
	if err := pki.WriteCA(sdir, ca.CertPEM(), nil); err != nil {
		return bedPKI{}, err
	}
	certPEM, keyPEM, err := ca.Issue("bed-etcd", []net.IP{Gateway(0).AsSlice()}, time.Now())
	if err != nil {
		return bedPKI{}, err
	}
	if err := pki.WriteNodeCert(sdir, certPEM, keyPEM); err != nil {
		return bedPKI{}, err
	}
	out.server = pki.NodeFiles(sdir)
	b.etcdClientFiles = out.client
	return out, nil
}

// EtcdConfig is how the test process reaches the bed's etcd: through a
// dialer that connects from inside the LAN namespace, with the client
// certificate.
func (b *Bed) EtcdConfig(timeout time.Duration) datastore.EtcdConfig {
	dial := grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		return b.LAN.Dial(ctx, "tcp", addr)
	})
	f := b.etcdClientFiles
	return datastore.EtcdConfig{Endpoints: []string{b.EtcdEndpoint}, CACertFile: f.CA, CertFile: f.Cert, KeyFile: f.Key,
		DialTimeout: timeout, DialOptions: []grpc.DialOption{dial}}
}

// EtcdEnv are the settings a host's daemon or calicoctl needs for the
// bed's etcd.
func (b *Bed) EtcdEnv() []string {
	f := b.etcdClientFiles
	return []string{"ETCD_ENDPOINTS=" + b.EtcdEndpoint, "ETCD_CA_CERT_FILE=" + f.CA, "ETCD_CERT_FILE=" + f.Cert, "ETCD_KEY_FILE=" + f.Key}
}

// Host returns the host named name, or nil.
func (b *Bed) Host(name string) *Host {
	for _, h := range b.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// Close stops every daemon and etcd by PID and deletes every namespace
// and file the bed made.
func (b *Bed) Close() error {
	var errs []error
	b.mu.Lock()
	birds := b.birds
	b.mu.Unlock()
	for _, x := range birds {
		x.Stop()
	}
	for _, h := range b.Hosts {
		errs = append(errs, h.close())
	}
	if b.Client != nil {
		b.Client.Close()
	}
	if b.etcd != nil && b.etcd.Process != nil {
		_ = b.etcd.Process.Signal(syscall.SIGTERM)
		waitOrKill(b.etcd, 10*time.Second)
	}
	b.mu.Lock()
	nss := b.nss
	b.nss = nil
	b.mu.Unlock()
	for i := len(nss) - 1; i >= 0; i-- {
		errs = append(errs, nss[i].delete())
	}
	errs = append(errs, os.RemoveAll(b.Dir))
	return errors.Join(errs...)
}

// waitOrKill waits for cmd to exit, killing it after timeout.
func waitOrKill(cmd *exec.Cmd, timeout time.Duration) {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

func errorsJoin(errs ...error) error { return errors.Join(errs...) }
