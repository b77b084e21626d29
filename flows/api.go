package flows

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// PolicyLookup returns a stored policy or profile by kind, namespace and
// name (the daemon reads its cache).
type PolicyLookup func(kind, namespace, name string) (resources.Resource, bool)

// API serves the flows API (docs/flows.md) from a collector.
type API struct {
	c         *Collector
	policy    PolicyLookup
	keepalive time.Duration
}

// NewAPI returns the API of c; policy may be nil (then /api/v1/policy
// answers 404).
func NewAPI(c *Collector, policy PolicyLookup) *API {
	return &API{c: c, policy: policy, keepalive: 15 * time.Second}
}

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/flows", a.list)
	mux.HandleFunc("GET /api/v1/flows/stream", a.stream)
	mux.HandleFunc("GET /api/v1/endpoints", a.endpoints)
	mux.HandleFunc("GET /api/v1/policy", a.policyYAML)
}

// Handler returns a handler serving only the API.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	a.Register(mux)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func (a *API) filter(w http.ResponseWriter, r *http.Request) (Filter, bool) {
	f, err := ParseFilter(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return f, false
	}
	return f, true
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	f, ok := a.filter(w, r)
	if !ok {
		return
	}
	rows, dropped := a.c.Ring().Query(f)
	writeJSON(w, http.StatusOK, map[string]any{"flows": rows, "dropped": dropped, "node": a.c.Node()})
}

func (a *API) stream(w http.ResponseWriter, r *http.Request) {
	f, ok := a.filter(w, r)
	if !ok {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported by this connection")
		return
	}
	ch, cancel := a.c.Ring().Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprint(w, ": stream of flows as intervals close\n\n")
	flusher.Flush()
	tick := time.NewTicker(a.keepalive)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			_, _ = fmt.Fprint(w, ": ping\n\n")
		case iv := <-ch:
			if !writeEvents(w, &f, iv.Flows) {
				return
			}
		}
		flusher.Flush()
	}
}

func writeEvents(w http.ResponseWriter, f *Filter, rows []Flow) bool {
	sent := 0
	for i := range rows {
		if !f.Match(&rows[i]) || sent >= f.Limit {
			continue
		}
		js, err := json.Marshal(&rows[i])
		if err != nil {
			continue
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", js); err != nil {
			return false
		}
		sent++
	}
	return true
}

func (a *API) endpoints(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()) > 0 {
		writeError(w, http.StatusBadRequest, "query: /api/v1/endpoints takes no parameters; remove them")
		return
	}
	eps := a.c.Directory().Endpoints()
	seen := map[string]bool{}
	for _, ep := range eps {
		seen[endpointID(ep)] = true
	}
	rows, _ := a.c.Ring().Query(Filter{Limit: MaxLimit})
	for _, fl := range rows { // remote and outside ends seen in flows
		for _, ep := range []Endpoint{fl.Src, fl.Dst} {
			if id := endpointID(ep); !seen[id] {
				seen[id] = true
				eps = append(eps, ep)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": eps})
}

var policyKinds = []string{resources.KindGlobalNetworkPolicy, resources.KindNetworkPolicy,
	resources.KindStagedGlobalNetworkPolicy, resources.KindStagedNetworkPolicy, resources.KindProfile}

func (a *API) policyYAML(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "kind" && k != "namespace" && k != "name" {
			writeError(w, http.StatusBadRequest, k+": unknown parameter; use kind, namespace and name")
			return
		}
	}
	kind, ns, name := q.Get("kind"), q.Get("namespace"), q.Get("name")
	if !validKind(kind) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("kind: %q is not a policy kind; use one of %s", kind, strings.Join(policyKinds, ", ")))
		return
	}
	if name == "" {
		writeError(w, http.StatusBadRequest, "name: missing; give the policy's name (as in a flow's policy.name)")
		return
	}
	if ns == "" && (kind == resources.KindNetworkPolicy || kind == resources.KindStagedNetworkPolicy) {
		ns = resources.DefaultNamespace
	}
	var res resources.Resource
	found := false
	if a.policy != nil {
		res, found = a.policy(kind, ns, name)
	}
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("name: %s %q not found; it may have been deleted since the flow was logged", kind, name))
		return
	}
	y, err := resources.EncodeYAML(res)
	if err != nil {
		writeError(w, http.StatusInternalServerError, errors.Join(errors.New("encode policy"), err).Error())
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(y)
}

func validKind(k string) bool {
	for _, v := range policyKinds {
		if v == k {
			return true
		}
	}
	return false
}
