package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const unitFile = "calico-libnetwork.service"

// TestUnit: the unit starts the daemon with the example config before
// Docker, waits for its readiness notification, restarts it on failure,
// and reads the environment file; systemd-analyze accepts it.
func TestUnit(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"\nBefore=docker.service\n", "\nType=notify\n", "\nRestart=on-failure\n",
		"\nEnvironmentFile=-/etc/calico/calico-libnetwork.env\n",
		"\nExecStart=/usr/local/bin/calico-libnetwork --config /etc/calico/calico-libnetwork.yaml\n",
		"\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("%s lacks %q", unitFile, strings.TrimSpace(want))
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze to verify the unit with")
	}
	// Verify a copy whose ExecStart exists on any machine.
	dir := t.TempDir()
	copyPath := filepath.Join(dir, unitFile)
	unit = strings.Replace(unit, "/usr/local/bin/calico-libnetwork", "/bin/true", 1)
	if err := os.WriteFile(copyPath, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
