package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestRefusesToStartWithoutIPSet hides ipset from the daemon's PATH, as on
// a fresh Debian machine, and expects Main to refuse at once, naming the
// tool and the package, before it starts etcd or serves a plugin socket.
func TestRefusesToStartWithoutIPSet(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "ipset", "iptables")
	dir := t.TempDir()
	dataDir, pluginDir := filepath.Join(dir, "data"), filepath.Join(dir, "plugins")
	t.Setenv("PATH", testenv.PathWithout(t, "ipset"))
	err := Main([]string{"--log-file=none", "--log-level=error", "--nodename=checks-test",
		"--data-dir=" + dataDir, "--plugin-dir=" + pluginDir, "--etcd-client-port=23790", "--etcd-peer-port=23800"})
	if err == nil {
		t.Fatal("the daemon started without ipset")
	}
	for _, want := range []string{"ipset not found", "apt-get install ipset", "calicoctl node checksystem"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	for _, p := range []string{filepath.Join(dataDir, "etcd"), filepath.Join(pluginDir, "calico.sock")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists: the daemon went on after the failed check", p)
		}
	}
}
