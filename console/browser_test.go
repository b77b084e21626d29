package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// chromium is Debian's browser (package chromium; hack/deps.sh installs it).
const chromium = "/usr/bin/chromium"

// e2eReport is what web/e2e/console.e2e.mjs observed.
type e2eReport struct {
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
}

// TestConsoleInBrowser opens the embedded console in headless chromium,
// against the flows API stand-in (fixture_test.go) until the real API
// lands: the denied fruitstore → server flow appears, the stream adds a
// flow, filtering to deny (or to an endpoint clicked in the graph) keeps
// only those flows, bad filters are errors, and clicking the denied flow
// shows the policy that decided it (and a staged policy's verdict and
// YAML). The screenshot is kept in $CALICO_TEST_ARTIFACTS (else the
// test's artifact directory, kept with go test -artifacts).
func TestConsoleInBrowser(t *testing.T) {
	testenv.RequireTools(t, chromium)
	api := newBookstoreFixture(time.Now())
	mux := http.NewServeMux()
	mux.Handle(Prefix, Handler())
	mux.Handle("/api/v1/", api)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rep := runBrowser(t, srv.URL+Prefix, func() string { return fmt.Sprintf("API requests: %q", api.asked()) })
	checkReport(t, rep, api.asked())
}

// runBrowser runs web/e2e/console.e2e.mjs against the console at url
// (any listener serving the page and the flows API: the stand-in here,
// the daemon's console_addr later) and returns what it saw; debug adds
// to the failure message.
func runBrowser(t *testing.T, url string, debug func() string) e2eReport {
	t.Helper()
	deps := webDeps(t)
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join(webDir, "e2e", "console.e2e.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "console.e2e.mjs"), script, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(deps, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifactDir(t), "console.png")
	out, err := run(2*time.Minute, dir, []string{
		"CONSOLE_URL=" + url, "CHROMIUM=" + chromium,
		"USER_DATA_DIR=" + filepath.Join(dir, "profile"), "SCREENSHOT=" + shot,
	}, "node", "console.e2e.mjs")
	if err != nil {
		t.Fatalf("the browser script failed: %v\n%s\n%s", err, out, debug())
	}
	t.Logf("screenshot: %s", shot)
	var rep e2eReport
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rep); err != nil || !rep.OK {
		t.Fatalf("no report from the browser script (%v):\n%s", err, out)
	}
	return rep
}

func checkReport(t *testing.T, rep e2eReport, asked []string) {
	t.Helper()
	if !containsAll(rep.InitialRows, "fruitstore", "bookstore-server", "deny", "default/allow-bookstore-cliient-to-server") {
		t.Errorf("the denied fruitstore flow is not in the table: %q", rep.InitialRows)
	}
	if rep.Graph.Nodes < 4 || rep.Graph.Allow < 2 || rep.Graph.Deny < 1 {
		t.Errorf("graph: %+v, want the endpoints with allowed and denied edges", rep.Graph)
	}
	for _, r := range rep.FilteredRows {
		if !strings.Contains(r, "deny") || strings.Contains(r, " allow ") {
			t.Errorf("filtered to deny, the table shows %q", r)
		}
	}
	if len(rep.FilteredRows) != 2 || !rep.Streamed {
		t.Errorf("filtered rows %q (streamed %v), want the fruitstore and the streamed intruder flows", rep.FilteredRows, rep.Streamed)
	}
	if !strings.Contains(rep.FilteredURL, "?action=deny") || !containsPrefix(asked, "/api/v1/flows?action=deny&limit=500") ||
		!containsPrefix(asked, "/api/v1/flows/stream?action=deny") {
		t.Errorf("the filter did not reach the URL (%s) or the API: %q", rep.FilteredURL, asked)
	}
	if len(rep.EndpointRows) != 3 || !containsPrefix(asked, "/api/v1/flows?endpoint=bookstore-client&limit=500") {
		t.Errorf("clicking bookstore-client in the graph: rows %q; want its 3 flows, asked of the API", rep.EndpointRows)
	}
	if !strings.Contains(rep.ClientError, "selector: unbalanced") || !strings.Contains(rep.ServerError, "selector:") {
		t.Errorf("bad selectors: page said %q, API said %q", rep.ClientError, rep.ServerError)
	}
	if !strings.Contains(rep.Decision, "rule 1 (ingress) of NetworkPolicy default/allow-bookstore-cliient-to-server") {
		t.Errorf("decision: %q", rep.Decision)
	}
	if !strings.Contains(rep.PolicyYAML, "name: allow-bookstore-cliient-to-server") || !strings.Contains(rep.PolicyYAML, "action: Deny") {
		t.Errorf("policy shown: %q", rep.PolicyYAML)
	}
	if len(rep.Staged) != 1 || !strings.Contains(rep.Staged[0], "StagedNetworkPolicy default/server-only-from-bookstore would deny") ||
		!strings.Contains(rep.StagedYAML, "name: server-only-from-bookstore") {
		t.Errorf("staged verdicts %q, staged YAML %q", rep.Staged, rep.StagedYAML)
	}
	if !containsPrefix(asked, "/api/v1/policy?kind=NetworkPolicy&namespace=default&name=allow-bookstore-cliient-to-server") {
		t.Errorf("the page did not ask for the policy: %q", asked)
	}
	for _, m := range rep.Console {
		if strings.HasPrefix(m, "pageerror") || strings.HasPrefix(m, "error") && !strings.Contains(m, "400") {
			t.Errorf("browser console: %s", m)
		}
	}
}

func artifactDir(t *testing.T) string {
	if d := os.Getenv("CALICO_TEST_ARTIFACTS"); d != "" {
		d = filepath.Join(d, "console")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}

func containsAll(rows []string, subs ...string) bool {
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

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
