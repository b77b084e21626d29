package ipamdriver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
	"github.com/calico-docker/calico-libnetwork/ipam"
)

// faultLoad drives RequestAddress/ReleaseAddress through the plugin socket
// from several workers, as Docker would for containers starting and
// stopping, and keeps the ledger the test checks etcd against.
type faultLoad struct {
	e        *env
	mu       sync.Mutex
	held     map[netip.Addr]int // address -> worker that holds it
	dups     []string
	relFails []string
	reqFails int
	slowest  time.Duration // longest failed request
	failMsgs map[string]int
}

// try calls the plugin without failing the test (workers run in goroutines).
func (e *env) try(method, body string) (string, map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, "http://plugin/"+method, strings.NewReader(body))
	if err != nil {
		return "", nil, err
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", nil, fmt.Errorf("%s answered non-JSON %q", method, raw)
	}
	msg, _ := out["Err"].(string)
	return msg, out, nil
}

func (l *faultLoad) worker(id int, stop <-chan struct{}) {
	var mine []netip.Addr
	for {
		select {
		case <-stop:
			return
		default:
		}
		if len(mine) < 3 {
			start := time.Now()
			msg, out, err := l.e.try("IpamDriver.RequestAddress", addrReq(PoolIDV4, "", nil))
			l.mu.Lock()
			if err != nil || msg != "" {
				l.reqFails++
				l.slowest = max(l.slowest, time.Since(start))
				l.failMsgs[shortMsg(msg, err)]++
				l.mu.Unlock()
				continue
			}
			a := netip.MustParsePrefix(out["Address"].(string)).Addr()
			if w, dup := l.held[a]; dup {
				l.dups = append(l.dups, fmt.Sprintf("%s given to worker %d while worker %d holds it", a, id, w))
			}
			l.held[a] = id
			l.mu.Unlock()
			mine = append(mine, a)
			continue
		}
		a := mine[0]
		mine = mine[1:]
		msg, _, err := l.e.try("IpamDriver.ReleaseAddress", relReq(PoolIDV4, a.String()))
		l.mu.Lock()
		if err != nil || msg != "" {
			// Docker does not retry: the address is lost to it either way.
			l.relFails = append(l.relFails, fmt.Sprintf("%s: %s", a, shortMsg(msg, err)))
		}
		delete(l.held, a)
		l.mu.Unlock()
	}
}

func shortMsg(msg string, err error) string {
	if err != nil {
		msg = err.Error()
	}
	if i := strings.Index(msg, ": no answer"); i >= 0 {
		return "... no answer" + msg[i+len(": no answer"):min(len(msg), i+60)]
	}
	return msg
}

// TestEtcdFaultsUnderLoad stops (SIGSTOP) and kills (SIGKILL, then a
// restart) a real etcd server process while workers allocate and release
// through the plugin socket. Afterwards, once the recorded release intents
// are applied (not waiting for any GC), etcd holds exactly the addresses
// the workers hold: none leaked, none lost, none handed out twice, no
// ReleaseAddress failed, and the node did not claim a block per error.
func TestEtcdFaultsUnderLoad(t *testing.T) {
	p := testenv.StartEtcdProcess(t)
	cli := p.Client()
	t.Cleanup(func() { _ = cli.Close() })
	store := datastore.New(cli)
	alloc := ipam.New(store, "host1")
	q, err := ipam.OpenIntents(filepath.Join(t.TempDir(), "intents.json"))
	if err != nil {
		t.Fatal(err)
	}
	alloc.SetIntents(q)
	e := serveEnv(t, cli, store, alloc, func(d *Driver) server { return d })
	e.addPool("pool", "10.50.0.0/16")
	e.ok("IpamDriver.RequestPool", poolReq("", "", false))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go alloc.RunIntents(ctx, 300*time.Millisecond)

	l := &faultLoad{e: e, held: map[netip.Addr]int{}, failMsgs: map[string]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { l.worker(i, stop) })
	}
	pause := func(d time.Duration) { time.Sleep(d) }
	pause(time.Second)
	t.Log("SIGSTOP etcd for 6s")
	p.Stop()
	pause(6 * time.Second)
	p.Cont()
	pause(2 * time.Second)
	t.Log("SIGKILL etcd, restart after 3s")
	p.Kill()
	pause(3 * time.Second)
	p.Start()
	pause(2 * time.Second)
	t.Log("SIGSTOP etcd for 3s")
	p.Stop()
	pause(3 * time.Second)
	p.Cont()
	pause(time.Second)
	close(stop)
	wg.Wait()

	testenv.Eventually(t, 30*time.Second, 200*time.Millisecond, func() error {
		if n := len(q.Pending()); n > 0 {
			return fmt.Errorf("%d release intents still pending", n)
		}
		return nil
	})
	l.check(t, ctx, alloc)
}

// check compares etcd with the workers' ledger.
func (l *faultLoad) check(t *testing.T, ctx context.Context, alloc *ipam.Allocator) {
	t.Helper()
	blocks, err := alloc.Blocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inEtcd := map[netip.Addr]bool{}
	for _, b := range blocks {
		for _, al := range b.Allocations {
			inEtcd[al.IP] = true
			if _, ok := l.held[al.IP]; !ok {
				t.Errorf("leaked: %s (handle %s) is allocated but no worker holds it", al.IP, al.Handle)
			}
		}
	}
	for a, w := range l.held {
		if !inEtcd[a] {
			t.Errorf("lost: worker %d holds %s but etcd does not record it (it could be handed out twice)", w, a)
		}
	}
	for _, d := range l.dups {
		t.Errorf("duplicate: %s", d)
	}
	for _, f := range l.relFails {
		t.Errorf("ReleaseAddress failed (Docker does not retry): %s", f)
	}
	if len(blocks) > 2 {
		t.Errorf("%d blocks for at most 12 addresses: the allocator abandoned blocks after errors", len(blocks))
	}
	for msg := range l.failMsgs {
		if !strings.Contains(msg, "etcd") {
			t.Errorf("a failed request does not say etcd is the cause: %q", msg)
		}
	}
	if l.slowest > RequestTimeout+2*time.Second {
		t.Errorf("a failed request took %v; want at most the request timeout %v", l.slowest, RequestTimeout)
	}
	t.Logf("failed requests %d (slowest %v): %v; held at end %d; blocks %d", l.reqFails, l.slowest, l.failMsgs, len(l.held), len(blocks))
}
