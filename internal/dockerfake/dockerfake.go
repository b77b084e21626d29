// Package dockerfake is a Docker Engine API server (API 1.41, as Docker
// 20.10) that answers what the calico driver asks of Docker: _ping,
// network inspect (name and endpoints), the container list filtered by ID
// (names and labels) and the events stream of network connect events. It
// speaks the real protocol to the real client (package dockerapi), for
// tests that create workloads through the plugin sockets "as Docker
// would" without a Docker engine (the multi-host test bed). Only tests
// use it.
package dockerfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Engine is one fake Docker engine listening on a unix socket.
type Engine struct {
	path string
	srv  *http.Server

	mu         sync.Mutex
	names      map[string]string // network ID -> name
	containers map[string]*container
	streams    map[chan []byte]bool
	eventsDown bool
}

type container struct {
	name      string
	labels    map[string]string
	endpoints map[string]string // endpoint ID -> network ID
}

// Start serves a new engine on the unix socket at path.
func Start(path string) (*Engine, error) {
	_ = os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("fake docker engine: %w", err)
	}
	e := &Engine{path: path, names: map[string]string{}, containers: map[string]*container{}, streams: map[chan []byte]bool{}}
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.srv.Serve(l) }()
	return e, nil
}

// Host is the engine's address for DOCKER_HOST.
func (e *Engine) Host() string { return "unix://" + e.path }

// Close stops the engine and removes its socket.
func (e *Engine) Close() error {
	e.SetEvents(false)
	err := e.srv.Close()
	if rerr := os.Remove(e.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// AddNetwork makes the engine know a network's name.
func (e *Engine) AddNetwork(id, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.names[id] = name
}

// AddContainer registers a container with its labels.
func (e *Engine) AddContainer(id, name string, labels map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.containers[id] = &container{name: name, labels: labels, endpoints: map[string]string{}}
}

// Connect records that a container's endpoint joined a network, as Docker
// does once Join has returned, and emits the network connect event.
func (e *Engine) Connect(containerID, networkID, endpointID string) {
	e.connect(containerID, networkID, endpointID, true)
}

// Attach records the endpoint like Connect but emits no event, as when a
// subscriber missed it.
func (e *Engine) Attach(containerID, networkID, endpointID string) {
	e.connect(containerID, networkID, endpointID, false)
}

func (e *Engine) connect(containerID, networkID, endpointID string, event bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.containers[containerID]
	if c == nil {
		return
	}
	c.endpoints[endpointID] = networkID
	if !event {
		return
	}
	now := time.Now()
	b, _ := json.Marshal(map[string]any{
		"Type": "network", "Action": "connect", "scope": "local", "time": now.Unix(), "timeNano": now.UnixNano(),
		"Actor": map[string]any{"ID": networkID, "Attributes": map[string]string{"container": containerID, "name": e.names[networkID], "type": "calico"}},
	})
	for ch := range e.streams {
		select {
		case ch <- b:
		default: // a stuck reader misses events, as with a real engine
		}
	}
}

// RemoveContainer forgets a container and its endpoints.
func (e *Engine) RemoveContainer(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.containers, id)
}

// SetEvents cuts the events streams (false) or lets them be opened again.
func (e *Engine) SetEvents(up bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.eventsDown = !up
	if !up {
		for ch := range e.streams {
			close(ch)
			delete(e.streams, ch)
		}
	}
}

// Subscribers is the number of open events streams.
func (e *Engine) Subscribers() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.streams)
}

func (e *Engine) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("API-Version", "1.41")
	w.Header().Set("Content-Type", "application/json")
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/_ping"):
		fmt.Fprint(w, "OK")
	case strings.Contains(path, "/networks/"):
		e.network(w, path[strings.Index(path, "/networks/")+len("/networks/"):])
	case strings.HasSuffix(path, "/containers/json"):
		e.containerList(w, r)
	case strings.HasSuffix(path, "/events"):
		e.events(w, r)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"page not found"}`)
	}
}

func (e *Engine) network(w http.ResponseWriter, id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	name, ok := e.names[id]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"network %s not found"}`, id)
		return
	}
	eps := map[string]any{}
	for cid, c := range e.containers {
		for ep, n := range c.endpoints {
			if n == id {
				eps[cid] = map[string]string{"Name": c.name, "EndpointID": ep}
			}
		}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"Name": name, "Id": id, "Scope": "local", "Driver": "calico", "Containers": eps})
}

func (e *Engine) containerList(w http.ResponseWriter, r *http.Request) {
	var f map[string]map[string]bool
	_ = json.Unmarshal([]byte(r.URL.Query().Get("filters")), &f)
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []map[string]any{}
	for id, c := range e.containers {
		for want := range f["id"] {
			if strings.HasPrefix(id, want) { // Docker's id filter matches prefixes
				out = append(out, map[string]any{"Id": id, "Names": []string{"/" + c.name}, "Labels": c.labels})
			}
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (e *Engine) events(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	if e.eventsDown {
		e.mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"message":"events are down"}`)
		return
	}
	ch := make(chan []byte, 64)
	e.streams[ch] = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.streams, ch)
		e.mu.Unlock()
	}()
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case b, ok := <-ch:
			if !ok {
				return
			}
			_, _ = w.Write(append(b, '\n'))
			w.(http.Flusher).Flush()
		}
	}
}
