package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	dipam "github.com/docker/go-plugins-helpers/ipam"
	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
	"github.com/calico-docker/calico-libnetwork/resources"
)

func gcCollectable(h string) bool {
	return IsEndpointHandle(h) || strings.HasPrefix(h, ipamdriver.HandlePrefix)
}

// TestGCNeverFreesLiveEndpoints runs the IPAM garbage collector with no
// grace period at all, round after round, while endpoints are created in
// a burst through the real calico-ipam driver and the network driver's
// socket (CreateEndpoint, then Join, which stores the endpoint and
// re-owns its address), alongside leaks made on purpose: a provisional address nobody
// claims and an endpoint deleted behind the driver's back. No endpoint may
// lose its address and the leaks must be freed. With no grace the GC may
// free a provisional address still on its way to CreateEndpoint (that is
// what the grace period is for); Join then takes it again, and
// with a /24 block a freed address is not handed to anyone else first.
func TestGCNeverFreesLiveEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	p := resources.NewIPPool("gc-pool")
	p.Spec.CIDR, p.Spec.BlockSize = "10.231.0.0/16", 24
	if _, err := h.store.Create(h.ctx(), p); err != nil {
		t.Fatal(err)
	}
	h.docker.AddNetwork(testNetID, "gcnet")
	h.mustCall("/NetworkDriver.CreateNetwork", createNetReq(testNetID, "10.231.0.0/16", "dev"), nil)
	idrv := ipamdriver.New(h.alloc, h.store)
	ctx := h.ctx()
	pool, err := idrv.RequestPoolContext(ctx, &dipam.RequestPoolRequest{AddressSpace: "CalicoGlobalAddressSpace", Pool: "10.231.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	requestAddress := func() (string, error) {
		r, err := idrv.RequestAddressContext(ctx, &dipam.RequestAddressRequest{PoolID: pool.PoolID})
		if err != nil {
			return "", err
		}
		return r.Address, nil
	}
	// Leaks made on purpose.
	leakedProvisional, err := requestAddress()
	if err != nil {
		t.Fatal(err)
	}
	goneEP := fmt.Sprintf("%064x", 0xdead)
	goneAddr := h.createEndpoint(goneEP, requestAddress)
	if _, err := h.store.Delete(ctx, resources.KindWorkloadEndpoint, "", WorkloadEndpointName(testNode, goneEP), ""); err != nil {
		t.Fatal(err)
	}

	gc, err := h.alloc.NewGC(ipam.GCConfig{Grace: 0, Collectable: gcCollectable,
		Holders: func(ctx context.Context) (ipam.Holders, error) {
			weps, _, err := datastore.ListAs[*resources.WorkloadEndpoint](ctx, h.store, "")
			return HoldersOf(weps), err
		}})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	gcDone := make(chan []ipam.Freed)
	go func() {
		var all []ipam.Freed
		defer func() { gcDone <- all }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			freed, err := gc.Run(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			all = append(all, freed...)
		}
	}()

	const workers, each = 6, 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	addrs := map[string]string{} // endpoint -> address
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ep := fmt.Sprintf("%011x%053x", (w+1)*100+i+1, 0) // distinct veth names

				a := h.createEndpoint(ep, requestAddress)
				mu.Lock()
				addrs[ep] = a
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	freed := <-gcDone
	// The leaks go once two rounds saw them and their (whole-second)
	// timestamps have passed.
	leaks := map[string]bool{strings.TrimSuffix(leakedProvisional, "/32"): true, strings.TrimSuffix(goneAddr, "/32"): true}
	testenv.Eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
		f, err := gc.Run(ctx)
		freed = append(freed, f...)
		if err != nil {
			return err
		}
		for _, x := range freed {
			delete(leaks, x.IP.String())
		}
		if len(leaks) > 0 {
			return fmt.Errorf("leaks not freed yet: %v", leaks)
		}
		return nil
	})
	checkFreed(t, freed, addrs, map[string]bool{strings.TrimSuffix(leakedProvisional, "/32"): true, strings.TrimSuffix(goneAddr, "/32"): true})
	checkOwned(t, h, addrs)
}

// createEndpoint requests an address and creates and joins an endpoint
// with it (to a sandbox whose namespace does not exist yet, as for a
// starting container); it reports failures with t.Error (it runs on
// several goroutines).
func (h *harness) createEndpoint(ep string, requestAddress func() (string, error)) string {
	addr, err := requestAddress()
	if err != nil {
		h.t.Errorf("RequestAddress: %v", err)
		return ""
	}
	b, _ := json.Marshal(network.CreateEndpointRequest{NetworkID: testNetID, EndpointID: ep, Interface: &network.EndpointInterface{Address: addr}})
	if code, body := h.call("/NetworkDriver.CreateEndpoint", string(b)); code != http.StatusOK {
		h.t.Errorf("CreateEndpoint %s with %s: HTTP %d: %s", ep, addr, code, body)
		return addr
	}
	b, _ = json.Marshal(network.JoinRequest{NetworkID: testNetID, EndpointID: ep, SandboxKey: "/nonexistent/sandbox-" + ep})
	if code, body := h.call("/NetworkDriver.Join", string(b)); code != http.StatusOK {
		h.t.Errorf("Join %s with %s: HTTP %d: %s", ep, addr, code, body)
	}
	return addr
}

// checkFreed: the GC freed the leaks, and otherwise only provisional
// addresses of endpoints being created (taken again by Join;
// checkOwned checks they were), never an endpoint's handle.
func checkFreed(t *testing.T, freed []ipam.Freed, live map[string]string, leaks map[string]bool) {
	t.Helper()
	liveIP := map[string]bool{}
	for _, a := range live {
		liveIP[strings.TrimSuffix(a, "/32")] = true
	}
	got, inFlight := map[string]bool{}, 0
	for _, f := range freed {
		ip := f.IP.String()
		got[ip] = true
		switch {
		case leaks[ip]:
		case liveIP[ip] && strings.HasPrefix(f.Handle, ipamdriver.HandlePrefix):
			inFlight++
		default:
			t.Errorf("GC freed %s (handle %s), which was neither leaked nor on its way to an endpoint", ip, f.Handle)
		}
	}
	for ip := range leaks {
		if !got[ip] {
			t.Errorf("GC did not free the leaked %s", ip)
		}
	}
	t.Logf("GC freed %d leaks and %d provisional addresses of endpoints being created (taken again by Join)", len(leaks), inFlight)
}

// checkOwned: each endpoint exists and its address is allocated to its handle.
func checkOwned(t *testing.T, h *harness, addrs map[string]string) {
	t.Helper()
	blocks, err := h.alloc.Blocks(h.ctx())
	if err != nil {
		t.Fatal(err)
	}
	holder := map[netip.Addr]string{}
	for _, b := range blocks {
		for _, al := range b.Allocations {
			holder[al.IP] = al.Handle
		}
	}
	for ep, a := range addrs {
		ip := netip.MustParsePrefix(a).Addr()
		if holder[ip] != Handle(ep) {
			t.Errorf("address %s of live endpoint %s is held by %q", ip, ep[:12], holder[ip])
		}
		if _, err := h.store.Get(h.ctx(), resources.KindWorkloadEndpoint, "", WorkloadEndpointName(testNode, ep)); errors.Is(err, datastore.ErrNotFound) {
			t.Errorf("endpoint %s is gone", ep[:12])
		}
	}
	if len(holder) != len(addrs) {
		t.Errorf("%d addresses allocated, want exactly the %d live endpoints'", len(holder), len(addrs))
	}
}
