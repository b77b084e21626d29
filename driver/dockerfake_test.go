package driver

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// dockerAPI is a Docker Engine API server (API 1.41, as Docker 20.10)
// that answers what the driver asks: network inspect (name and
// endpoints), the container list filtered by ID, and the events stream of
// network connect events, for the networks and containers the test
// registers. It speaks the real protocol to the real client
// (package dockerapi); the events stream can be cut to test the fallback.
type dockerAPI struct {
	host string

	mu         sync.Mutex
	names      map[string]string // network ID -> name
	containers map[string]*fakeContainer
	streams    map[chan []byte]bool
	eventsDown bool
}

type fakeContainer struct {
	name      string
	labels    map[string]string
	endpoints map[string]string // endpoint ID -> network ID
}

func startDockerAPI(t *testing.T) *dockerAPI {
	d := &dockerAPI{names: map[string]string{}, containers: map[string]*fakeContainer{}, streams: map[chan []byte]bool{}}
	path := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	d.host = "unix://" + path
	srv := &http.Server{Handler: http.HandlerFunc(d.serve)}
	go srv.Serve(l)
	t.Cleanup(func() { d.setEvents(false); srv.Close() })
	return d
}

func (d *dockerAPI) setName(id, name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.names[id] = name
}

// addContainer registers a container with its labels.
func (d *dockerAPI) addContainer(id, name string, labels map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.containers[id] = &fakeContainer{name: name, labels: labels, endpoints: map[string]string{}}
}

// connect records that a container's endpoint joined a network, as Docker
// does once Join has returned, and emits the connect event if events.
func (d *dockerAPI) connect(containerID, networkID, endpointID string, event bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.containers[containerID].endpoints[endpointID] = networkID
	if !event {
		return
	}
	now := time.Now()
	b, _ := json.Marshal(map[string]any{
		"Type": "network", "Action": "connect", "scope": "local", "time": now.Unix(), "timeNano": now.UnixNano(),
		"Actor": map[string]any{"ID": networkID, "Attributes": map[string]string{"container": containerID, "name": d.names[networkID], "type": "calico"}},
	})
	for ch := range d.streams {
		select {
		case ch <- b:
		default: // a stuck reader misses events, as with a real engine
		}
	}
}

// setEvents cuts the events streams (down) or lets them be opened again.
func (d *dockerAPI) setEvents(up bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.eventsDown = !up
	if !up {
		for ch := range d.streams {
			close(ch)
			delete(d.streams, ch)
		}
	}
}

// subscribers is the number of open events streams.
func (d *dockerAPI) subscribers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.streams)
}

func (d *dockerAPI) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("API-Version", "1.41")
	w.Header().Set("Content-Type", "application/json")
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/_ping"):
		fmt.Fprint(w, "OK")
	case strings.Contains(path, "/networks/"):
		d.network(w, path[strings.Index(path, "/networks/")+len("/networks/"):])
	case strings.HasSuffix(path, "/containers/json"):
		d.containerList(w, r)
	case strings.HasSuffix(path, "/events"):
		d.events(w, r)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"page not found"}`)
	}
}

func (d *dockerAPI) network(w http.ResponseWriter, id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name, ok := d.names[id]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"message":"network %s not found"}`, id)
		return
	}
	eps := map[string]any{}
	for cid, c := range d.containers {
		for ep, n := range c.endpoints {
			if n == id {
				eps[cid] = map[string]string{"Name": c.name, "EndpointID": ep}
			}
		}
	}
	json.NewEncoder(w).Encode(map[string]any{"Name": name, "Id": id, "Scope": "local", "Driver": "calico", "Containers": eps})
}

func (d *dockerAPI) containerList(w http.ResponseWriter, r *http.Request) {
	var f map[string]map[string]bool
	_ = json.Unmarshal([]byte(r.URL.Query().Get("filters")), &f)
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []map[string]any{}
	for id, c := range d.containers {
		for want := range f["id"] {
			if strings.HasPrefix(id, want) { // Docker's id filter matches prefixes
				out = append(out, map[string]any{"Id": id, "Names": []string{"/" + c.name}, "Labels": c.labels})
			}
		}
	}
	json.NewEncoder(w).Encode(out)
}

func (d *dockerAPI) events(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	if d.eventsDown {
		d.mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"message":"events are down (test)"}`)
		return
	}
	ch := make(chan []byte, 64)
	d.streams[ch] = true
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.streams, ch)
		d.mu.Unlock()
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
			w.Write(append(b, '\n'))
			w.(http.Flusher).Flush()
		}
	}
}
