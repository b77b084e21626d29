package calicoctl

import (
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/daemon"
	"github.com/calico-docker/calico-libnetwork/felix"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/routing/status"
)

// noDaemonSocket is a status socket no daemon serves (it does not exist).
const noDaemonSocket = "testdata/no-daemon.sock"

// Fixed times of the status fixture: SINCE prints the date (not today).
var (
	statusTime = time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)
	peerSince  = time.Date(2025, 1, 2, 11, 0, 0, 0, time.UTC)
)

// healthySources is a daemon with BGP sessions of every type and family.
func healthySources() *daemon.StatusSources {
	since := peerSince
	return &daemon.StatusSources{
		Node: "host1", Version: "v1.2.3", Endpoints: []string{"http://127.0.0.1:2379"},
		Datastore: func(context.Context) error { return nil },
		Dataplane: func() felix.Status {
			return felix.Status{InSync: true, Backend: iptables.BackendNFT, Dataplane: felix.DataplaneNftables,
				NftablesHook: felix.HookEgress, Applies: 12, LastApply: statusTime,
				LastApplyDuration: 3 * time.Millisecond, Endpoints: 2, RoutesProgrammed: 2}
		},
		Routing: func() status.Status {
			return status.Status{Node: "host1", Time: statusTime, Backend: "bird",
				BGP: &status.BGP{Running: true, ASNumber: 64512, RouterID: "10.99.0.1", IPv4Address: "10.99.0.1/24",
					ListenPort: 179, Exported: 2, Learned: 4, Peers: []status.Peer{
						{PeerIP: "10.99.0.2", ASNumber: 64512, Type: "mesh", Name: "host2", State: "Established", Since: &since, Info: "Established"},
						{PeerIP: "10.99.0.3", ASNumber: 64512, Type: "mesh", Name: "host3", State: "Active", Info: "Socket: Connection refused"},
						{PeerIP: "192.168.1.1", ASNumber: 64511, Type: "global", Name: "bgppeer-192-168-1-1", State: "Established", Since: &since, Info: "Established"},
						{PeerIP: "fd00::1", ASNumber: 64511, Type: "node", Name: "rr-fd00--1", State: "Connect", Since: &since},
					}},
				Routes: status.Routes{InSync: true, Programmed: 4, Protocol: 81}}
		},
		Now: func() time.Time { return statusTime },
	}
}

// serveStatus serves the daemon's status handler on a unix socket in a
// temporary directory and returns the socket's path.
func serveStatus(t *testing.T, src *daemon.StatusSources) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "status.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: daemon.StatusHandler(src), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

func TestNodeStatusGolden(t *testing.T) {
	healthy := serveStatus(t, healthySources())
	degraded := healthySources()
	degraded.Datastore = func(context.Context) error { return errors.New("context deadline exceeded") }
	degraded.Dataplane = func() felix.Status {
		return felix.Status{Backend: iptables.BackendLegacy, Applies: 3, Failures: 1, LastApply: statusTime,
			LastError: errors.New("iptables-legacy-restore: exit status 1")}
	}
	degraded.Routing = nil
	for _, tc := range []struct {
		name, socket string
		args         []string
	}{
		{"node_status_table", healthy, nil},
		{"node_status_json", healthy, []string{"-o", "json"}},
		{"node_status_yaml", healthy, []string{"-o", "yaml"}},
		{"node_status_degraded", serveStatus(t, degraded), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI("", nil, append([]string{"node", "status", "--status-socket", tc.socket}, tc.args...)...)
			if r.code != cli.ExitOK || r.stderr != "" {
				t.Fatalf("node status: %v", r)
			}
			checkGolden(t, tc.name, r.stdout)
		})
	}
}

func TestNodeStatusDaemonNotRunning(t *testing.T) {
	stale := filepath.Join(t.TempDir(), "status.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the socket file stays, nobody listens: a crashed daemon
	for _, tc := range []struct{ socket, cause string }{
		{noDaemonSocket, "the socket does not exist"},
		{stale, "no daemon listens there"},
	} {
		for _, args := range [][]string{{"node", "status"}, {"node", "status", "-o", "json"}} {
			r := runCLI("", nil, append(args, "--status-socket", tc.socket)...)
			want := "calico-libnetwork is not running on this host: cannot reach " + tc.socket + " (" + tc.cause + ")"
			if r.code != cli.ExitFailure || r.stdout != "" || !strings.Contains(r.stderr, want) {
				t.Errorf("%v on %s: want exit 1 and %q, got %v", args, tc.socket, want, r)
			}
		}
	}
}

// The socket's default follows the daemon's data_dir setting.
func TestNodeStatusSocketFromDataDir(t *testing.T) {
	sock := serveStatus(t, healthySources())
	r := runCLI("", map[string]string{"CALICO_DATA_DIR": filepath.Dir(sock)}, "node", "status")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "Version:    v1.2.3") {
		t.Errorf("node status with CALICO_DATA_DIR: %v", r)
	}
}

// calicoctl status (the classic short form) shows the same daemon.
func TestStatusWithDaemon(t *testing.T) {
	e := operatorEnv(t)
	sock := serveStatus(t, healthySources())
	r := e.mustRun(t, "", "status", "--status-socket", sock)
	checkGolden(t, "status_daemon_table", e.normalizeEtcd(r.stdout))
}

// The routing package's own client reads the daemon's document too.
func TestStatusDocumentIsRoutingCompatible(t *testing.T) {
	sock := serveStatus(t, healthySources())
	st, err := status.Fetch(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Node != "host1" || st.BGP == nil || len(st.BGP.Peers) != 4 {
		t.Errorf("status.Fetch = %+v", st)
	}
}
