package flows

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/selector"
)

// Limits of the list filters.
const (
	DefaultLimit = 500
	MaxLimit     = 10000
	maxParamLen  = 1024
)

// Filter selects flows (the API's query parameters; calicoctl flows
// sends the same).
type Filter struct {
	Action   string            // allow, deny or "" for both
	Policy   string            // tier/name, or a substring of the policy name
	Endpoint string            // substring of either endpoint's name
	Network  string            // either endpoint's network name or ID
	Selector selector.Selector // over either endpoint's labels
	Node     string
	Limit    int
	Since    time.Time
}

// FilterError is a bad filter parameter: the API answers 400 with it.
type FilterError struct {
	Field, Problem, Fix string
}

func (e *FilterError) Error() string { return fmt.Sprintf("%s: %s; %s", e.Field, e.Problem, e.Fix) }

var filterParams = map[string]bool{"action": true, "policy": true, "endpoint": true, "network": true,
	"selector": true, "node": true, "limit": true, "since": true}

// ParseFilter reads the filter parameters of q; now anchors a relative
// since (a Go duration such as 5m).
func ParseFilter(q url.Values, now time.Time) (Filter, error) {
	f := Filter{Limit: DefaultLimit}
	for k, v := range q {
		if k == "" {
			return f, &FilterError{"query", "a parameter without a name", "write name=value pairs joined by &"}
		}
		if !filterParams[k] {
			return f, &FilterError{k, "unknown parameter", "use action, policy, endpoint, network, selector, node, limit or since"}
		}
		if len(v) != 1 {
			return f, &FilterError{k, "given more than once", "give it once"}
		}
		if len(v[0]) > maxParamLen {
			return f, &FilterError{k, fmt.Sprintf("longer than %d bytes", maxParamLen), "shorten it"}
		}
	}
	switch f.Action = strings.ToLower(q.Get("action")); f.Action {
	case "", "allow", "deny":
	default:
		return f, &FilterError{"action", fmt.Sprintf("%q is not an action", q.Get("action")), "use allow or deny"}
	}
	f.Policy, f.Endpoint, f.Network, f.Node = q.Get("policy"), q.Get("endpoint"), q.Get("network"), q.Get("node")
	if s := q.Get("selector"); s != "" {
		sel, err := selector.Parse(s)
		if err != nil {
			return f, &FilterError{"selector", err.Error(), "use a Calico selector such as role == 'db' && has(app)"}
		}
		f.Selector = sel
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return f, &FilterError{"limit", fmt.Sprintf("%q is not a number from 1 to %d", s, MaxLimit),
				fmt.Sprintf("use 1..%d (default %d)", MaxLimit, DefaultLimit)}
		}
		f.Limit = n
	}
	if s := q.Get("since"); s != "" {
		t, err := parseSince(s, now)
		if err != nil {
			return f, &FilterError{"since", fmt.Sprintf("%q is neither a time nor a duration", s),
				"use RFC 3339 (2026-12-06T09:00:00Z) or a Go duration such as 5m"}
		}
		f.Since = t
	}
	return f, nil
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("bad since %q", s)
	}
	return now.Add(-d), nil
}

// Match reports whether fl passes every filter.
func (f *Filter) Match(fl *Flow) bool {
	switch {
	case f.Action != "" && fl.Action != f.Action:
		return false
	case f.Node != "" && fl.Node != f.Node:
		return false
	case f.Policy != "" && !matchPolicy(f.Policy, &fl.Policy):
		return false
	case f.Endpoint != "" && !strings.Contains(fl.Src.Name, f.Endpoint) && !strings.Contains(fl.Dst.Name, f.Endpoint):
		return false
	case f.Network != "" && fl.Src.Network != f.Network && fl.Dst.Network != f.Network:
		return false
	case f.Selector != nil && !f.Selector.Evaluate(fl.Src.Labels) && !f.Selector.Evaluate(fl.Dst.Labels):
		return false
	case !f.Since.IsZero() && fl.End.Before(f.Since):
		return false
	}
	return true
}

func matchPolicy(want string, p *PolicyRef) bool {
	if tier, name, ok := strings.Cut(want, "/"); ok {
		return p.Tier == tier && p.Name == name
	}
	return strings.Contains(p.Name, want)
}
