package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
	"github.com/calico-docker/calico-libnetwork/ipamdriver"
)

// ipamClient speaks the libnetwork remote IPAM protocol to a socket, as
// dockerd does.
type ipamClient struct{ http.Client }

func newIPAMClient(sock string) *ipamClient {
	return &ipamClient{http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}}
}

// ipamAnswer holds the fields of the answers the test reads.
type ipamAnswer struct {
	Err     string
	Address string
	PoolID  string
}

// call POSTs req to /IpamDriver.<op> and decodes the answer into out (if
// not nil); a non-200 answer or a non-empty Err is an error.
func (c *ipamClient) call(op string, req any, out *ipamAnswer) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	r, err := c.Post("http://plugin/IpamDriver."+op, "application/json", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer r.Body.Close()
	if out == nil {
		out = &ipamAnswer{}
	}
	if err := json.NewDecoder(r.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: decode answer (HTTP %d): %w", op, r.StatusCode, err)
	}
	if r.StatusCode != http.StatusOK || out.Err != "" {
		return fmt.Errorf("%s: HTTP %d: %s", op, r.StatusCode, out.Err)
	}
	return nil
}

// loadStats is what the IPAM load saw, guarded.
type loadStats struct {
	mu sync.Mutex
	loadResult
}

// loadResult is what the IPAM load saw.
type loadResult struct {
	held      map[netip.Addr]bool // addresses handed out and not released
	ever      int                 // successful RequestAddress
	failed    int                 // RequestAddress with an error (outcome unknown)
	relFailed []netip.Addr        // ReleaseAddress with an error (outcome unknown)
	dups      []netip.Addr        // handed out while held by another request
	lastOK    time.Time
}

// startClusterDaemon runs the daemon (node name node) against a 3-member
// etcd cluster of real etcd processes on loopback and returns the members,
// a client of its IPAM socket and the default pool it answered.
func startClusterDaemon(t *testing.T, node string) ([]*etcdMember, *ipamClient, ipamAnswer) {
	t.Helper()
	testenv.RequireRoot(t)
	requireFreeRanges(t, defaultPool)
	ms := startEtcd(t, 3)
	var eps []string
	for _, m := range ms {
		eps = append(eps, m.clientURL())
	}
	dir := t.TempDir()
	startDaemon(t, node, dir, eps, "DOCKER_HOST="+testenv.Docker(t), "CALICO_NETWORKING_BACKEND=none")
	c := newIPAMClient(filepath.Join(dir, "calico-ipam.sock")) // gives up after 20s, as Docker after 30s
	var pool ipamAnswer
	if err := c.call("RequestPool", map[string]any{"AddressSpace": ipamdriver.GlobalAddressSpace, "Pool": "", "SubPool": "",
		"Options": map[string]string{}, "V6": false}, &pool); err != nil {
		t.Fatal(err)
	}
	return ms, c, pool
}

// TestEtcdMemberKilledUnderIPAMLoad runs the daemon against a 3-member
// etcd cluster of real etcd processes on loopback, drives its IPAM socket
// from 4 concurrent clients (request, and release half of the time), and
// SIGKILLs the leader mid-way. Afterwards, read from the two survivors:
// no address was handed out twice; every address a client holds is
// allocated to exactly one handle, which holds nothing else; an address
// released is free again unless handed out anew; every other allocated
// address is accounted for by a request whose outcome was unknown (an
// error); every block allocation has its handle key and vice versa.
// Requests succeed again within 30s of the kill.
func TestEtcdMemberKilledUnderIPAMLoad(t *testing.T) {
	ms, c, pool := startClusterDaemon(t, "cluster-test")

	st := &loadStats{loadResult: loadResult{held: map[netip.Addr]bool{}}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { ipamLoad(ctx, c, pool.PoolID, st, uint64(w)) })
	}
	time.Sleep(5 * time.Second)
	leader := leaderOf(t, ms)
	leader.kill()
	killedAt := time.Now()
	t.Logf("killed etcd member %s (the leader) after %d allocations", leader.name, st.snapshot().ever)
	time.Sleep(10 * time.Second)
	deadline := killedAt.Add(30 * time.Second)
	for st.snapshot().lastOK.Before(killedAt.Add(time.Second)) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	s := st.snapshot()
	if !s.lastOK.After(killedAt) {
		t.Fatalf("no IPAM request succeeded within 30s of killing the etcd leader")
	}
	t.Logf("%d addresses handed out, %d held at the end, %d requests and %d releases failed (outcome unknown)",
		s.ever, len(s.held), s.failed, len(s.relFailed))
	if len(s.dups) > 0 {
		t.Errorf("addresses handed out while another request held them: %v", s.dups)
	}
	var live []string
	for _, m := range ms {
		if m != leader {
			live = append(live, m.clientURL())
		}
	}
	checkIPAMAccounts(t, live, s)
}

func (st *loadStats) snapshot() loadResult {
	st.mu.Lock()
	defer st.mu.Unlock()
	held := make(map[netip.Addr]bool, len(st.held))
	for a := range st.held {
		held[a] = true
	}
	return loadResult{held: held, ever: st.ever, failed: st.failed, relFailed: append([]netip.Addr(nil), st.relFailed...),
		dups: append([]netip.Addr(nil), st.dups...), lastOK: st.lastOK}
}

// ipamLoad requests addresses and releases a random held one half of the
// time, until ctx ends.
func ipamLoad(ctx context.Context, c *ipamClient, poolID string, st *loadStats, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var mine []netip.Addr
	for ctx.Err() == nil {
		if len(mine) > 0 && rng.IntN(2) == 0 {
			i := rng.IntN(len(mine))
			a := mine[i]
			mine = append(mine[:i], mine[i+1:]...)
			// The client lets go of the address before asking: once the
			// daemon has freed it, another request may get it at once.
			st.mu.Lock()
			delete(st.held, a)
			st.mu.Unlock()
			if err := c.call("ReleaseAddress", map[string]string{"PoolID": poolID, "Address": a.String()}, nil); err != nil {
				st.mu.Lock()
				st.relFailed = append(st.relFailed, a)
				st.mu.Unlock()
			}
			continue
		}
		var r ipamAnswer
		err := c.call("RequestAddress", map[string]any{"PoolID": poolID, "Address": "", "Options": map[string]string{}}, &r)
		st.mu.Lock()
		if err != nil {
			st.failed++
		} else if p, perr := netip.ParsePrefix(r.Address); perr != nil {
			st.failed++
		} else {
			a := p.Addr()
			if st.held[a] {
				st.dups = append(st.dups, a)
			}
			st.held[a] = true
			st.ever++
			st.lastOK = time.Now()
			mine = append(mine, a)
		}
		st.mu.Unlock()
	}
}

// leaderOf finds the member whose metrics say it leads.
func leaderOf(t *testing.T, ms []*etcdMember) *etcdMember {
	t.Helper()
	for _, m := range ms {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", m.metricsPort))
		if err != nil {
			continue
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if strings.Contains(buf.String(), "\netcd_server_is_leader 1") {
			return m
		}
	}
	t.Fatal("no etcd member says it is the leader")
	return nil
}

// checkIPAMAccounts reads blocks and handles from the live members and
// checks them against what the clients hold (see the test's doc).
func checkIPAMAccounts(t *testing.T, endpoints []string, s loadResult) {
	t.Helper()
	ctx := context.Background()
	alloc := ipam.New(storeOf(t, endpoints), "cluster-test")
	blocks, err := alloc.Blocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	handles, err := alloc.Handles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner := map[netip.Addr]string{}
	for _, b := range blocks {
		for _, a := range b.Allocations {
			owner[a.IP] = a.Handle
		}
	}
	byHandle := map[string][]netip.Addr{}
	for _, h := range handles {
		byHandle[h.Handle] = h.IPs
		for _, ip := range h.IPs {
			if owner[ip] != h.Handle {
				t.Errorf("handle %s lists %s, which its block gives to %q", h.Handle, ip, owner[ip])
			}
		}
	}
	for ip, h := range owner {
		if !contains(byHandle[h], ip) {
			t.Errorf("address %s is allocated to %s in its block but the handle does not list it", ip, h)
		}
	}
	for a := range s.held {
		h, ok := owner[a]
		switch {
		case !ok:
			t.Errorf("address %s was handed out and not released, but its block says it is free", a)
		case len(byHandle[h]) != 1:
			t.Errorf("address %s: its handle %s holds %v, want exactly it", a, h, byHandle[h])
		}
	}
	unknown := map[netip.Addr]bool{}
	for _, a := range s.relFailed {
		unknown[a] = true
	}
	orphans := 0
	for ip := range owner {
		if !s.held[ip] && !unknown[ip] {
			orphans++
		}
	}
	if orphans > s.failed {
		t.Errorf("%d allocated addresses are held by no client, more than the %d requests whose outcome was unknown: addresses were lost", orphans, s.failed)
	}
}

func contains(ips []netip.Addr, ip netip.Addr) bool {
	for _, x := range ips {
		if x == ip {
			return true
		}
	}
	return false
}
