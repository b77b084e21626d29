package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dipam "github.com/docker/go-plugins-helpers/ipam"
	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// wepWrites counts the writes of each WorkloadEndpoint, from the real
// syncer's watch of etcd (each put or delete is one update).
type wepWrites struct {
	mu     sync.Mutex
	counts map[string]int
	rev    int64 // revision of the last endpoint update seen
}

func watchWEPWrites(t *testing.T, store *datastore.Store) *wepWrites {
	w := &wepWrites{counts: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = store.NewSyncer(datastore.SyncerConfig{}).Run(ctx, func(ev model.SyncEvent) {
			w.mu.Lock()
			defer w.mu.Unlock()
			for _, u := range ev.Updates {
				if u.Kind != resources.KindWorkloadEndpoint {
					continue
				}
				w.rev = max(w.rev, u.Revision)
				if !ev.Full {
					w.counts[u.Name]++
				}
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// of returns the writes of one endpoint seen once the watch has seen the
// endpoint updates up to revision rev.
func (w *wepWrites) of(t *testing.T, name string, rev int64) int {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, 10*time.Millisecond, func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.rev < rev {
			return fmt.Errorf("watch at revision %d, want %d", w.rev, rev)
		}
		return nil
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts[name]
}

// ipamSocket serves the real calico-ipam handler on a unix socket and
// returns a function posting to it.
func (h *harness) ipamSocket() func(path string, req, out any) {
	sock := filepath.Join(h.t.TempDir(), "calico-ipam.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		h.t.Fatal(err)
	}
	srv := &http.Server{Handler: ipamdriver.New(h.alloc, h.store).Handler()}
	go srv.Serve(l)
	h.t.Cleanup(func() { srv.Close() })
	c := http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
	return func(path string, req, out any) {
		h.t.Helper()
		b, _ := json.Marshal(req)
		resp, err := c.Post("http://plugin"+path, "application/json", bytes.NewReader(b))
		if err != nil {
			h.t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil || resp.StatusCode != http.StatusOK {
			h.t.Fatalf("%s: HTTP %d, %v", path, resp.StatusCode, err)
		}
	}
}

// TestContainerStartWrites drives what Docker does to start a container
// on a calico network, through the real plugin sockets (calico-ipam's
// RequestAddress, then CreateEndpoint, Join, and the container's labels
// from its connect event) and counts the etcd writes: the endpoint is
// written twice (at Join, labels pending; then with its labels), and the
// writes of a start are the same with 300 other hosts' endpoints stored.
func TestContainerStartWrites(t *testing.T) {
	h := newLabelHarness(t)
	ipamCall := h.ipamSocket()
	var pool dipam.RequestPoolResponse
	ipamCall("/IpamDriver.RequestPool", dipam.RequestPoolRequest{AddressSpace: ipamdriver.LocalAddressSpace, Pool: "10.231.0.0/16"}, &pool)
	writes := watchWEPWrites(t, h.store)
	start := func(i int) (wepWrites int, all int64) {
		ep := fmt.Sprintf("%011x%053x", 0xc0+i, 0)
		cid := strings.Repeat(fmt.Sprintf("%x", i%16), 64)
		h.docker.AddContainer(cid, fmt.Sprintf("web-%d", i), map[string]string{LabelPrefix + "role": "web"})
		before := h.revision()
		var addr dipam.RequestAddressResponse
		ipamCall("/IpamDriver.RequestAddress", dipam.RequestAddressRequest{PoolID: pool.PoolID}, &addr)
		h.mustCall("/NetworkDriver.CreateEndpoint", network.CreateEndpointRequest{NetworkID: testNetID, EndpointID: ep,
			Interface: &network.EndpointInterface{Address: addr.Address}}, nil)
		h.mustCall("/NetworkDriver.Join", network.JoinRequest{NetworkID: testNetID, EndpointID: ep, SandboxKey: newSandbox(t).path}, nil)
		if w := getEndpoint(t, h, ep); !labelsPending(w) {
			t.Fatalf("endpoint %s stored without the pending mark before its labels: fail-open", ep)
		}
		h.docker.Connect(cid, testNetID, ep)
		h.waitLabels(ep, fmt.Sprintf("web-%d", i), map[string]string{"role": "web"})
		after := h.revision()
		final, _ := strconv.ParseInt(getEndpoint(t, h, ep).ResourceVersion, 10, 64)
		return writes.of(t, WorkloadEndpointName(testNode, ep), final), after - before
	}
	start(0) // claims the block
	w1, all1 := start(1)
	for i := range 300 {
		wep := resources.NewWorkloadEndpoint(fmt.Sprintf("far%d-libnetwork-libnetwork-%064x", i%100, i))
		wep.Labels = map[string]string{"role": "web"}
		wep.Annotations = map[string]string{AnnotationSandbox: "/var/run/docker/netns/far"}
		wep.Spec = resources.WorkloadEndpointSpec{Node: fmt.Sprintf("far%d", i%100), Endpoint: fmt.Sprintf("%064x", i),
			InterfaceName: "califar", IPNetworks: []string{fmt.Sprintf("10.99.%d.%d/32", i/250, i%250+1)}}
		if _, err := h.store.Create(h.ctx(), wep); err != nil {
			t.Fatal(err)
		}
	}
	w2, all2 := start(2)
	t.Logf("per container start: %d WorkloadEndpoint writes, %d etcd writes in all (with 300 remote endpoints: %d and %d)", w1, all1, w2, all2)
	if w1 != 2 || w2 != 2 {
		t.Errorf("WorkloadEndpoint writes per container start = %d, %d; want 2 (Join, labels)", w1, w2)
	}
	if all2 != all1 {
		t.Errorf("etcd writes per container start grew from %d to %d with 300 remote endpoints", all1, all2)
	}
}
