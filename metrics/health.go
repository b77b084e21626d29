package metrics

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// CheckTimeout bounds one run of the health checks.
const CheckTimeout = 2 * time.Second

// Check reports a problem, or nil when healthy. It must honour ctx.
type Check func(ctx context.Context) error

// AddLiveCheck adds a check to /healthz: failing means the process should
// be restarted (a supervisor's liveness probe).
func (m *Metrics) AddLiveCheck(name string, c Check) { m.health.add(false, name, c) }

// AddReadyCheck adds a check to /readyz: failing means the node cannot
// serve correctly right now (datastore unreachable, dataplane not synced).
func (m *Metrics) AddReadyCheck(name string, c Check) { m.health.add(true, name, c) }

type health struct {
	mu    sync.Mutex
	live  map[string]Check
	ready map[string]Check
}

func (h *health) add(ready bool, name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := &h.live
	if ready {
		m = &h.ready
	}
	if *m == nil {
		*m = map[string]Check{}
	}
	(*m)[name] = c
}

// checkResult is one check's outcome.
type checkResult struct {
	name string
	err  error
}

type results []checkResult

func (rs results) failures() []error {
	var errs []error
	for _, r := range rs {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
		}
	}
	return errs
}

// run runs the live (or ready) checks concurrently, each bounded by
// CheckTimeout, sorted by name. A live check run also for readiness: a
// process that is not alive is not ready either.
func (h *health) run(ctx context.Context, ready bool) results {
	h.mu.Lock()
	checks := map[string]Check{}
	for n, c := range h.live {
		checks[n] = c
	}
	if ready {
		for n, c := range h.ready {
			checks[n] = c
		}
	}
	h.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	out := make(results, 0, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, c := range checks {
		wg.Go(func() {
			err := c(ctx)
			if err == nil && ctx.Err() != nil {
				err = fmt.Errorf("no answer within %v", CheckTimeout)
			}
			mu.Lock()
			out = append(out, checkResult{name, err})
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// serve answers /healthz or /readyz: 200 "ok" or 503 with the failures;
// ?verbose lists every check.
func (h *health) serve(w http.ResponseWriter, r *http.Request, ready bool) {
	rs := h.run(r.Context(), ready)
	_, verbose := r.URL.Query()["verbose"]
	var b strings.Builder
	failed := false
	for _, res := range rs {
		switch {
		case res.err != nil:
			failed = true
			fmt.Fprintf(&b, "[-] %s: %v\n", res.name, res.err)
		case verbose:
			fmt.Fprintf(&b, "[+] %s: ok\n", res.name)
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if failed {
		w.WriteHeader(http.StatusServiceUnavailable)
		b.WriteString("not ok\n")
	} else {
		b.WriteString("ok\n")
	}
	_, _ = w.Write([]byte(b.String()))
}
