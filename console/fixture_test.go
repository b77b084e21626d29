package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/calico-docker/calico-libnetwork/selector"
)

// fixtureAPI is a STAND-IN for the daemon's flows API (the contract in
// docs/console.md), fed with fixture flows from the seed's bookstore
// example. It exists ONLY until the real API lands on main: the browser
// test then runs against the real daemon's listener and this file goes.
// It answers the same paths, filters and errors as the contract says, so
// the page is tested against what it will meet.
type fixtureAPI struct {
	flows     []fxFlow
	live      []fxFlow // sent on each stream a moment after it opens
	endpoints []fxEndpoint
	policies  map[string]string // "kind/namespace/name" → YAML

	mu      sync.Mutex
	queries []string // every query the API was asked, "path?query"
}

type fxEndpoint struct {
	Kind      string            `json:"kind"`
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Network   string            `json:"network,omitempty"`
	Node      string            `json:"node,omitempty"`
	IP        string            `json:"ip,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

type fxPolicy struct {
	Tier      string `json:"tier"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Rule      int    `json:"rule"`
	Direction string `json:"direction"`
	Trigger   string `json:"trigger"`
}

type fxFlow struct {
	Start    time.Time  `json:"start"`
	End      time.Time  `json:"end"`
	Node     string     `json:"node"`
	Reporter string     `json:"reporter"`
	Src      fxEndpoint `json:"src"`
	Dst      fxEndpoint `json:"dst"`
	Proto    string     `json:"proto"`
	DstPort  int        `json:"dstPort"`
	Action   string     `json:"action"`
	Policy   fxPolicy   `json:"policy"`
	Staged   []any      `json:"staged"`
	Packets  uint64     `json:"packets"`
	Bytes    uint64     `json:"bytes"`
	Flows    int        `json:"flows"`
}

const bookstorePolicyYAML = `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata:
  name: allow-bookstore-cliient-to-server
  namespace: default
spec:
  tier: default
  selector: biz_type == 'bookstore' && role == 'server'
  types:
  - Ingress
  ingress:
  - action: Allow
    protocol: TCP
    source:
      selector: biz_type == 'bookstore'
    destination:
      ports:
      - 80
  - action: Deny
    protocol: TCP
    source:
      selector: biz_type == 'fruitstore'
    destination:
      ports:
      - 80
`

const stagedPolicyYAML = `apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata:
  name: server-only-from-bookstore
  namespace: default
spec:
  tier: default
  selector: role == 'server'
  types:
  - Ingress
  ingress:
  - action: Deny
    source:
      selector: biz_type != 'bookstore'
`

// newBookstoreFixture: the bookstore client's connections to the server
// allowed by rule 0 of allow-bookstore-cliient-to-server, the fruitstore's
// denied by its rule 1 (and by a staged policy), and traffic to an outside address allowed by the
// client's profile. The stream later brings a denied flow from "intruder".
func newBookstoreFixture(now time.Time) *fixtureAPI {
	ep := func(name, role, biz, ip string) fxEndpoint {
		return fxEndpoint{Kind: "wep", Name: name, Namespace: "default", Network: "shop", Node: "host-a", IP: ip,
			Labels: map[string]string{"role": role, "biz_type": biz}}
	}
	client, server := ep("bookstore-client", "client", "bookstore", "192.168.0.2"), ep("bookstore-server", "server", "bookstore", "192.168.0.3")
	fruit := ep("fruitstore", "client", "fruitstore", "192.168.0.4")
	outside := fxEndpoint{Kind: "net", Name: "pub", IP: "198.51.100.7"}
	start := now.Add(-15 * time.Second).Truncate(time.Second)
	bookstore := fxPolicy{Tier: "default", Kind: "NetworkPolicy", Namespace: "default", Name: "allow-bookstore-cliient-to-server", Direction: "ingress", Trigger: "rule"}
	denyRule := bookstore
	denyRule.Rule = 1
	flow := func(src, dst fxEndpoint, action, reporter string, p fxPolicy, packets uint64) fxFlow {
		return fxFlow{Start: start, End: start.Add(15 * time.Second), Node: "host-a", Reporter: reporter, Src: src, Dst: dst,
			Proto: "tcp", DstPort: 80, Action: action, Policy: p, Staged: []any{}, Packets: packets, Bytes: packets * 74, Flows: 1}
	}
	profile := fxPolicy{Kind: "Profile", Name: "shop", Direction: "egress", Trigger: "rule"}
	denied := flow(fruit, server, "deny", "dst", denyRule, 3)
	denied.Staged = []any{map[string]any{"tier": "default", "kind": "StagedNetworkPolicy", "namespace": "default",
		"name": "server-only-from-bookstore", "rule": 0, "direction": "ingress", "action": "deny"}}
	intruder := ep("intruder", "client", "fruitstore", "192.168.0.9")
	return &fixtureAPI{
		flows: []fxFlow{
			flow(client, server, "allow", "dst", bookstore, 12),
			flow(client, server, "allow", "src", profile, 12),
			denied,
			flow(fruit, server, "allow", "src", profile, 3),
			flow(client, outside, "allow", "src", profile, 8),
		},
		live:      []fxFlow{flow(intruder, server, "deny", "dst", denyRule, 2)},
		endpoints: []fxEndpoint{client, server, fruit, intruder},
		policies: map[string]string{
			"NetworkPolicy/default/allow-bookstore-cliient-to-server": bookstorePolicyYAML,
			"StagedNetworkPolicy/default/server-only-from-bookstore":  stagedPolicyYAML,
		},
	}
}

func (a *fixtureAPI) asked() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.queries...)
}

func (a *fixtureAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.queries = append(a.queries, r.URL.Path+"?"+r.URL.RawQuery)
	a.mu.Unlock()
	switch r.URL.Path {
	case "/api/v1/flows":
		a.list(w, r)
	case "/api/v1/flows/stream":
		a.stream(w, r)
	case "/api/v1/endpoints":
		writeJSON(w, http.StatusOK, map[string]any{"endpoints": a.endpoints})
	case "/api/v1/policy":
		q := r.URL.Query()
		y, ok := a.policies[q.Get("kind")+"/"+q.Get("namespace")+"/"+q.Get("name")]
		if !ok {
			apiError(w, http.StatusNotFound, fmt.Sprintf("policy: %s %q not found; check the kind, namespace and name", q.Get("kind"), q.Get("name")))
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write([]byte(y))
	default:
		apiError(w, http.StatusNotFound, "path: no such API; use /api/v1/flows, /api/v1/flows/stream, /api/v1/endpoints or /api/v1/policy")
	}
}

func (a *fixtureAPI) list(w http.ResponseWriter, r *http.Request) {
	match, limit, err := fxFilter(r.URL.Query())
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	out := []fxFlow{}
	for _, f := range a.flows {
		if match(f) && len(out) < limit {
			out = append(out, f)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"flows": out, "dropped": 0, "node": "host-a"})
}

func (a *fixtureAPI) stream(w http.ResponseWriter, r *http.Request) {
	match, _, err := fxFilter(r.URL.Query())
	if err != nil {
		apiError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	_, _ = fmt.Fprint(w, ": ping\n\n")
	fl.Flush()
	select {
	case <-r.Context().Done():
		return
	case <-time.After(300 * time.Millisecond):
	}
	for _, f := range a.live {
		if match(f) {
			b, _ := json.Marshal(f)
			_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
		}
	}
	fl.Flush()
	<-r.Context().Done()
}

// fxFilter parses the contract's filters into a matcher.
func fxFilter(q url.Values) (func(fxFlow) bool, int, error) {
	limit := 500
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return nil, 0, fmt.Errorf("limit: %q is not a number from 1 to 10000; use e.g. limit=500", s)
		}
		limit = n
	}
	if s := q.Get("since"); s != "" {
		if _, err := time.ParseDuration(s); err != nil {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return nil, 0, fmt.Errorf("since: %q is neither a duration nor an RFC 3339 time; use e.g. 5m or 2026-12-06T09:00:00Z", s)
			}
		}
	}
	action := q.Get("action")
	if action != "" && action != "allow" && action != "deny" {
		return nil, 0, fmt.Errorf("action: %q is not an action; use allow or deny", action)
	}
	sel, err := selector.Parse(q.Get("selector"))
	if err != nil {
		return nil, 0, fmt.Errorf("selector: %v; use a Calico selector such as role == 'db'", err)
	}
	policy, endpoint, network, node := q.Get("policy"), q.Get("endpoint"), q.Get("network"), q.Get("node")
	return func(f fxFlow) bool {
		return (action == "" || f.Action == action) &&
			(policy == "" || strings.Contains(f.Policy.Tier+"/"+f.Policy.Name, policy)) &&
			(endpoint == "" || strings.Contains(f.Src.Name, endpoint) || strings.Contains(f.Dst.Name, endpoint)) &&
			(network == "" || f.Src.Network == network || f.Dst.Network == network) &&
			(node == "" || f.Node == node) &&
			(sel.Evaluate(f.Src.Labels) || sel.Evaluate(f.Dst.Labels))
	}, limit, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
