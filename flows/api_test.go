package flows

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func apiFixture(t *testing.T) (*Collector, http.Handler) {
	t.Helper()
	c, table := setup(t, Config{}, "")
	deny := prefixOf(t, table, "deny", "ingress", "allow-bookstore-cliient-to-server", 1)
	allow := prefixOf(t, table, "allow", "ingress", "allow-bookstore-cliient-to-server", 0)
	c.Observe(pkt("10.0.0.4", "10.0.0.2", 40000, 80, deny))
	c.Observe(pkt("10.0.0.3", "10.0.0.2", 41000, 80, allow))
	c.Close(time.Now())
	pol, err := resources.DecodeBytes([]byte(profileYAML))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(kind, ns, name string) (resources.Resource, bool) {
		return pol[0], kind == resources.KindProfile && name == "store"
	}
	return c, NewAPI(c, lookup).Handler()
}

// TestAPIList: filters select rows; the answer names the node.
func TestAPIList(t *testing.T) {
	_, h := apiFixture(t)
	cases := map[string]int{
		"/api/v1/flows": 2, "/api/v1/flows?action=deny": 1, "/api/v1/flows?action=allow&endpoint=book": 1,
		"/api/v1/flows?selector=" + url.QueryEscape("biz_type == 'fruitstore'"): 1,
		"/api/v1/flows?policy=default/allow-bookstore-cliient-to-server":        2,
		"/api/v1/flows?policy=nosuch":                                           0, "/api/v1/flows?network=store": 2, "/api/v1/flows?node=h2": 0,
		"/api/v1/flows?limit=1": 1, "/api/v1/flows?since=5m": 2, "/api/v1/flows?since=2000-01-01T00:00:00Z": 2,
	}
	for path, want := range cases {
		code, body := get(t, h, path)
		var resp struct {
			Flows []Flow `json:"flows"`
			Node  string `json:"node"`
		}
		if err := json.Unmarshal([]byte(body), &resp); code != 200 || err != nil || len(resp.Flows) != want || resp.Node != "h1" {
			t.Errorf("%s: %d %v, %d flows (want %d): %s", path, code, err, len(resp.Flows), want, body)
		}
	}
}

// TestAPIBadInput: every bad parameter is a 400 naming the field and the
// fix.
func TestAPIBadInput(t *testing.T) {
	_, h := apiFixture(t)
	cases := map[string]string{
		"/api/v1/flows?action=drop":                             "action:",
		"/api/v1/flows?limit=0":                                 "limit:",
		"/api/v1/flows?limit=99999999999999999999":              "limit:",
		"/api/v1/flows?limit=-5":                                "limit:",
		"/api/v1/flows?since=yesterday":                         "since:",
		"/api/v1/flows?since=-5m":                               "since:",
		"/api/v1/flows?selector=" + url.QueryEscape("role ==="): "selector:",
		"/api/v1/flows?colour=red":                              "colour: unknown parameter",
		"/api/v1/flows?action=deny&action=allow":                "action: given more than once",
		"/api/v1/flows?endpoint=" + strings.Repeat("x", 2000):   "endpoint: longer than",
		"/api/v1/flows/stream?limit=abc":                        "limit:",
		"/api/v1/endpoints?x=1":                                 "query:",
		"/api/v1/policy?kind=Pod&name=x":                        "kind:",
		"/api/v1/policy?kind=Profile":                           "name: missing",
		"/api/v1/policy?kind=Profile&name=x&extra=1":            "extra: unknown parameter",
	}
	for path, field := range cases {
		code, body := get(t, h, path)
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(body), &e); code != 400 || err != nil || !strings.HasPrefix(e.Error, field) || !strings.Contains(e.Error, ";") {
			t.Errorf("%s: %d %q; want 400 starting %q with a fix", path, code, body, field)
		}
	}
}

// TestAPIEndpointsAndPolicy: the endpoints known; a policy as YAML, 404
// when absent.
func TestAPIEndpointsAndPolicy(t *testing.T) {
	_, h := apiFixture(t)
	code, body := get(t, h, "/api/v1/endpoints")
	if code != 200 || !strings.Contains(body, `"name":"fruit"`) || !strings.Contains(body, `"network":"store"`) {
		t.Errorf("endpoints: %d %s", code, body)
	}
	code, body = get(t, h, "/api/v1/policy?kind=Profile&name=store")
	if code != 200 || !strings.Contains(body, "kind: Profile") || !strings.Contains(body, "name: store") {
		t.Errorf("policy: %d %s", code, body)
	}
	if code, body = get(t, h, "/api/v1/policy?kind=GlobalNetworkPolicy&name=gone"); code != 404 || !strings.Contains(body, "not found") {
		t.Errorf("absent policy: %d %s", code, body)
	}
}

// TestAPIStream: closed intervals arrive as SSE events, filtered.
func TestAPIStream(t *testing.T) {
	c, h := apiFixture(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/flows/stream?action=deny")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	_, table := setup(t, Config{}, "")
	deny := prefixOf(t, table, "deny", "ingress", "allow-bookstore-cliient-to-server", 1)
	allow := prefixOf(t, table, "allow", "ingress", "allow-bookstore-cliient-to-server", 0)
	r := bufio.NewReader(resp.Body)
	if _, err := r.ReadString('\n'); err != nil { // the opening comment: subscribed
		t.Fatal(err)
	}
	c.Observe(pkt("10.0.0.4", "10.0.0.2", 40001, 80, deny))
	c.Observe(pkt("10.0.0.3", "10.0.0.2", 41001, 80, allow))
	c.Close(time.Now())
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var f Flow
			if err := json.Unmarshal([]byte(data), &f); err != nil || f.Action != "deny" || f.Src.Name != "fruit" {
				t.Fatalf("event %q: %v", line, err)
			}
			return
		}
	}
}
