package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// tourCommand is one command of a README block: its text (continuation
// lines and here-documents included) and what its output must show (the
// comment after it, split at ", ").
type tourCommand struct {
	text string
	want []string
}

// trailingComment is a comment after a command: "cmd   # shown, output".
var trailingComment = regexp.MustCompile(`\s+#\s+(.+)$`)

// heredoc finds the delimiter of a here-document: <<'EOF' or <<EOF.
var heredoc = regexp.MustCompile(`<<-?'?([A-Za-z_]+)'?`)

// readmeSection returns the ```sh blocks of one "## " section of a Markdown file.
func readmeSection(t *testing.T, path, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## "+heading+"\n")
	if start < 0 {
		t.Fatalf("%s has no section %q", path, heading)
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:end+3]
	}
	var blocks []string
	for {
		i := strings.Index(text, "```sh\n")
		if i < 0 {
			return blocks
		}
		text = text[i+len("```sh\n"):]
		j := strings.Index(text, "```\n")
		if j < 0 {
			t.Fatalf("%s: unterminated code block in %q", path, heading)
		}
		blocks = append(blocks, text[:j])
		text = text[j:]
	}
}

// parseCommands splits a shell block into commands: lines ending in a
// backslash continue, a here-document runs to its delimiter, whole-line
// comments and blank lines are skipped.
func parseCommands(block string) []tourCommand {
	lines := strings.Split(strings.TrimRight(block, "\n"), "\n")
	var out []tourCommand
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if s := strings.TrimSpace(line); s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		var text []string
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			text = append(text, line)
			i++
			line = lines[i]
		}
		var want []string
		if m := trailingComment.FindStringSubmatchIndex(line); m != nil && !strings.Contains(line[m[0]:], "'") {
			want = strings.Split(line[m[2]:m[3]], ", ")
			line = line[:m[0]]
		}
		text = append(text, line)
		if m := heredoc.FindStringSubmatch(line); m != nil {
			for i+1 < len(lines) {
				i++
				text = append(text, lines[i])
				if lines[i] == m[1] {
					break
				}
			}
		}
		out = append(out, tourCommand{text: strings.Join(text, "\n"), want: want})
	}
	return out
}

func TestParseCommands(t *testing.T) {
	block := "export A=1\n\n# comment\nfoo \\\n    --bar   # x, y z\ncat <<'Y' | z\na: b # not a comment\nY\necho 'a # b'\n"
	got := parseCommands(block)
	want := []tourCommand{
		{text: "export A=1"},
		{text: "foo \\\n    --bar", want: []string{"x", "y z"}},
		{text: "cat <<'Y' | z\na: b # not a comment\nY"},
		{text: "echo 'a # b'"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseCommands:\n got %q\nwant %q", got, want)
	}
}

// TestREADMETour runs the README's five-minute tour as written, command by
// command, on the test engine with a daemon of its own (standing in for
// `make run`), the local test image in place of busybox and calicoctl
// reaching the daemon's embedded etcd. Every command must succeed and show
// what the comment after it says, so the README cannot drift from what
// the code does. The tour's names (net1, app1, ...) are its own: they are
// removed before and after.
func TestREADMETour(t *testing.T) {
	e := newEngine(t)
	const tourSubnet = "10.1.0.0/16"
	requireFreeRanges(t, defaultPool, tourSubnet)
	t.Cleanup(func() { cleanHostDataplane(t, tourSubnet) }) // after the daemon stops
	removeTour := func() {
		_, _ = e.try("rm", "-f", "app1", "web")
		_, _ = e.try("network", "rm", "net1", "net2")
	}
	removeTour()
	d := startDaemon(t, e.host)
	t.Cleanup(removeTour) // before the daemon stops: Docker's Leave and DeleteEndpoint reach it

	dir := t.TempDir() // the checkout: bin/ holds calicoctl
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(calicoctlBin, filepath.Join(dir, "bin", "calicoctl")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "DOCKER_HOST="+e.host, fmt.Sprintf("ETCD_ENDPOINTS=https://127.0.0.1:%d", d.clientPort), "CALICO_DATA_DIR="+d.dataDir)
	image := testenv.TestImage()
	var exports []string
	for _, block := range readmeSection(t, filepath.Join("..", "README.md"), "A five-minute tour") {
		for _, c := range parseCommands(block) {
			text := strings.ReplaceAll(c.text, " busybox ", " "+image+" ")
			script := strings.Join(append(append([]string{"set -eo pipefail"}, exports...), text), "\n")
			cmd := exec.Command("bash", "-c", script)
			cmd.Dir, cmd.Env = dir, env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("README tour: %s\nfailed: %v\n%s", c.text, err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("README tour: %s\noutput lacks %q (the README's comment says it shows it):\n%s", c.text, w, out)
				}
			}
			t.Logf("$ %s\n%s", c.text, out)
			if strings.HasPrefix(text, "export ") {
				exports = append(exports, text)
			}
		}
	}
	cmd := exec.Command(calicoctlBin, "delete", "networkpolicy", "only-clients-to-web")
	cmd.Env = env
	_, _ = cmd.CombinedOutput()
}

// TestMakeRunScript runs hack/run.sh (what `make run` runs after the
// build) against the test engine: nothing to install, the engine answers,
// and it hands over to the daemon (--version, so it stops at once).
func TestMakeRunScript(t *testing.T) {
	testenv.RequireRoot(t)
	host := testenv.Docker(t)
	cmd := exec.Command("bash", filepath.Join("..", "hack", "run.sh"), "--version")
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host, "BIN="+filepath.Dir(daemonBin))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hack/run.sh --version: %v\n%s", err, out)
	}
	for _, want := range []string{"using the Docker engine at " + host, "calico-libnetwork "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("hack/run.sh output lacks %q:\n%s", want, out)
		}
	}
}
