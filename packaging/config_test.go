package packaging

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/daemon"
)

var update = flag.Bool("update", false, "rewrite calico-libnetwork.yaml from daemon.Settings()")

const exampleConfig = "calico-libnetwork.yaml"

const header = `# calico-libnetwork configuration: every setting, with its default.
#
# Install as /etc/calico/calico-libnetwork.yaml; the systemd unit passes it
# with --config. Uncomment a line to change a setting. A setting given as a
# flag or an environment variable (for the service: in
# /etc/calico/calico-libnetwork.env, the unit's EnvironmentFile) beats this
# file; unknown keys are errors.
#
# Generated from daemon.Settings(): do not edit; run
# go test ./packaging -update after changing a setting.
`

// render writes the example configuration: each setting's help, its flag
// and variable, and the key with its default, commented out.
func render() []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for _, s := range daemon.Settings() {
		b.WriteString("\n")
		for _, line := range wrap(s.Help, 76) {
			fmt.Fprintf(&b, "# %s\n", line)
		}
		fmt.Fprintf(&b, "# (flag --%s, environment %s)\n", s.Flag, s.Env)
		fmt.Fprintf(&b, "#%s: %q\n", s.Key, s.Default)
	}
	return b.Bytes()
}

func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

// TestExampleConfigIsCurrent: the file documents every setting, exactly
// as daemon.Settings() does.
func TestExampleConfigIsCurrent(t *testing.T) {
	want := render()
	if *update {
		if err := os.WriteFile(exampleConfig, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with daemon.Settings(): run go test ./packaging -update", exampleConfig)
	}
}

// TestExampleConfigLoads: the file as shipped, and with every setting
// uncommented, loads to the default configuration.
func TestExampleConfigLoads(t *testing.T) {
	for _, s := range daemon.Settings() {
		t.Setenv(s.Env, "")
	}
	t.Setenv("NODENAME", "host1")
	t.Setenv("CALICO_CONFIG_FILE", "")
	shipped, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	uncommented := strings.ReplaceAll(string(shipped), "\n#", "\n")
	var lines []string // drop the help lines, keep "key: value"
	for _, l := range strings.Split(uncommented, "\n") {
		if !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "#") && strings.Contains(l, `: "`) {
			lines = append(lines, l)
		}
	}
	if len(lines) != len(daemon.Settings()) {
		t.Fatalf("%d settings in the file, want %d", len(lines), len(daemon.Settings()))
	}
	dir := t.TempDir()
	all := filepath.Join(dir, "all.yaml")
	if err := os.WriteFile(all, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	defaults, err := daemon.LoadConfig(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{exampleConfig, all} {
		c, err := daemon.LoadConfig([]string{"--config", file}, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		c.Explicit = defaults.Explicit // the file gives every setting: which ones were given differs, not the values
		if !reflect.DeepEqual(c, defaults) {
			t.Errorf("%s loads as %+v, want the defaults %+v", file, c, defaults)
		}
	}
}
