package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/console/consoletest"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// TestConsoleInBrowser opens the embedded console in headless chromium
// against a STAND-IN for the flows API (fixture_test.go). The real
// daemon's console is driven by e2e's TestBookstoreFlows; this test stays
// for what a real daemon cannot produce on demand within a bounded test:
// a flow streamed at a known moment (from "intruder"), a staged policy's
// verdict and YAML, and the exact queries the page sends. It checks that
// the denied fruitstore → server flow appears, the stream adds a flow,
// filtering to deny (or to an endpoint clicked in the graph) keeps only
// those flows, bad filters are errors, and clicking the denied flow shows
// the policy that decided it. The screenshot is kept in
// $CALICO_TEST_ARTIFACTS/console (else the test's artifact directory).
func TestConsoleInBrowser(t *testing.T) {
	testenv.RequireTools(t, consoletest.Chromium)
	api := newBookstoreFixture(time.Now())
	mux := http.NewServeMux()
	mux.Handle(Prefix, Handler())
	mux.Handle("/api/v1/", api)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rep := consoletest.Run(t, consoletest.Scenario{
		URL: srv.URL + Prefix, ClickEndpoint: "bookstore-client", Denied: "fruitstore", Live: true, Screenshot: "console-stand-in.png",
	}, func() string { return fmt.Sprintf("API requests: %q", api.asked()) })
	checkReport(t, rep, api.asked())
}

func checkReport(t *testing.T, rep consoletest.Report, asked []string) {
	t.Helper()
	if !consoletest.ContainsAll(rep.InitialRows, "fruitstore", "bookstore-server", "deny", "default/allow-bookstore-cliient-to-server") {
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
	for _, m := range rep.ConsoleErrors() {
		t.Errorf("browser console: %s", m)
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
