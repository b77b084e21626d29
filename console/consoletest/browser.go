// Package consoletest drives the web console in a real browser for tests:
// Debian's chromium, headless, through playwright-core from the npm
// registry, running console/web/e2e/console.e2e.mjs. The console's own
// test and the end-to-end test against a real daemon share it.
package consoletest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// Chromium is Debian's browser (package chromium; hack/deps.sh installs it).
const Chromium = "/usr/bin/chromium"

// Report is what web/e2e/console.e2e.mjs observed.
type Report struct {
	OK           bool     `json:"ok"`
	InitialRows  []string `json:"initialRows"`
	FilteredRows []string `json:"filteredRows"`
	FilteredURL  string   `json:"filteredURL"`
	EndpointRows []string `json:"endpointRows"`
	Streamed     bool     `json:"streamed"`
	ClientError  string   `json:"clientError"`
	ServerError  string   `json:"serverError"`
	Decision     string   `json:"decision"`
	PolicyYAML   string   `json:"policyYAML"`
	Staged       []string `json:"staged"`
	StagedYAML   string   `json:"stagedYAML"`
	Graph        struct{ Nodes, Allow, Deny int }
	Console      []string `json:"console"`
	Screenshot   string   `json:"-"` // the file the script saved
}

// Scenario says what the script may expect of the console it opens.
type Scenario struct {
	URL           string // the page, e.g. http://127.0.0.1:9099/console/
	ClickEndpoint string // a source endpoint (name) to click in the graph
	Denied        string // part of the denied flow's source name, to click
	// Live: the API streams a flow from "intruder" a moment after each
	// stream opens, and the denied flow has a staged policy's verdict
	// (the console's stand-in API does both).
	Live       bool
	Screenshot string // file name in ArtifactDir
}

// Run runs the browser script for s and returns what it saw; debug adds
// to the failure message.
func Run(t *testing.T, s Scenario, debug func() string) Report {
	t.Helper()
	testenv.RequireTools(t, Chromium)
	deps := WebDeps(t)
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join(WebDir, "e2e", "console.e2e.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "console.e2e.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(deps, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(ArtifactDir(t), s.Screenshot)
	live := ""
	if s.Live {
		live = "1"
	}
	out, err := Command(2*time.Minute, dir, []string{
		"CONSOLE_URL=" + s.URL, "CHROMIUM=" + Chromium, "LIVE=" + live,
		"CLICK_ENDPOINT=" + s.ClickEndpoint, "DENIED=" + s.Denied,
		"USER_DATA_DIR=" + filepath.Join(dir, "profile"), "SCREENSHOT=" + shot,
	}, "node", "console.e2e.mjs")
	if err != nil {
		t.Fatalf("the browser script failed: %v\n%s\n%s", err, out, debug())
	}
	t.Logf("screenshot: %s", shot)
	var rep Report
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil || !rep.OK {
		t.Fatalf("no report from the browser script (%v):\n%s", err, out)
	}
	rep.Screenshot = shot
	return rep
}

// ArtifactDir is where browser tests keep their screenshots:
// $CALICO_TEST_ARTIFACTS/console (hack/test.sh sets it), else the test's
// artifact directory (kept with go test -artifacts).
func ArtifactDir(t *testing.T) string {
	if d := os.Getenv("CALICO_TEST_ARTIFACTS"); d != "" {
		d = filepath.Join(d, "console")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}

// ConsoleErrors are the page's script errors and failed requests other
// than the 400s the scenario provokes with bad filters.
func (r Report) ConsoleErrors() []string {
	var bad []string
	for _, m := range r.Console {
		if strings.HasPrefix(m, "pageerror") || strings.HasPrefix(m, "error") && !strings.Contains(m, "400") {
			bad = append(bad, m)
		}
	}
	return bad
}

// ContainsAll: some row contains every one of subs.
func ContainsAll(rows []string, subs ...string) bool {
	for _, r := range rows {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(r, s)
		}
		if ok {
			return true
		}
	}
	return false
}
