package calicoctl

import (
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestNodeChecksystem runs the checks on this host (the test environment
// has every tool), then with ipset hidden from PATH: exit 1, and the table
// names ipset and its package.
func TestNodeChecksystem(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "ipset", "iptables")
	plugins := t.TempDir()
	r := runCLI("", map[string]string{"CALICO_PLUGIN_DIR": plugins}, "node", "checksystem")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "CHECK") || !strings.Contains(r.stdout, plugins) {
		t.Fatalf("checksystem on a complete host: %s", r)
	}
	t.Setenv("PATH", testenv.PathWithout(t, "ipset"))
	r = runCLI("", nil, "node", "checksystem", "--plugin-dir", plugins)
	if r.code != cli.ExitFailure {
		t.Errorf("exit %d without ipset, want %d: %s", r.code, cli.ExitFailure, r)
	}
	for _, want := range []string{"ipset not found", "apt-get install ipset", "FAILED"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q: %s", want, r)
		}
	}
	r = runCLI("", nil, "node", "checksystem", "-o", "json", "--plugin-dir", plugins)
	if !strings.Contains(r.stdout, `"status": "FAILED"`) {
		t.Errorf("json output: %s", r)
	}
}
