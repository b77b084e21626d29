package flows

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/calicoctl/internal/cli"
	"github.com/calico-docker/calico-libnetwork/felix/flowlogs"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/flows"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// table is a prefix table as felix renders it.
type table map[string]rules.RuleID

func (t table) RuleID(p string) (rules.RuleID, bool) { id, ok := t[p]; return id, ok }

var (
	denyID  = rules.RuleID{Tier: "default", Kind: "NetworkPolicy", Namespace: "default", Name: "allow-bookstore-cliient-to-server", Rule: 1, Direction: "ingress", Action: "deny", Trigger: "rule"}
	allowID = rules.RuleID{Tier: "default", Kind: "NetworkPolicy", Namespace: "default", Name: "allow-bookstore-cliient-to-server", Rule: 0, Direction: "ingress", Action: "allow", Trigger: "rule"}
)

// serveDaemon serves the real flows API on a unix socket, as the daemon
// does on its status socket, with one closed interval: fruit → server
// denied, book → server allowed.
func serveDaemon(t *testing.T) (string, *flows.Collector) {
	t.Helper()
	dir := flows.NewDirectory(nil)
	var ups []model.Update
	for name, ip := range map[string]string{"server": "10.0.0.2", "book": "10.0.0.3", "fruit": "10.0.0.4"} {
		w := resources.NewWorkloadEndpoint("h1-" + name)
		w.Spec.Node, w.Spec.Workload, w.Spec.IPNetworks, w.Spec.InterfaceName = "h1", name, []string{ip + "/32"}, "cali"+name
		w.Labels = map[string]string{"app": name}
		ups = append(ups, model.UpdateOf(w))
	}
	dir.OnSyncEvent(model.SyncEvent{Full: true, Updates: ups})
	col := flows.NewCollector(flows.Config{Node: "h1", Directory: dir,
		Rules: table{denyID.Prefix(): denyID, allowID.Prefix(): allowID}})
	obs := func(src string, port uint16, id rules.RuleID) {
		col.Observe(flowlogs.Packet{Tuple: flowlogs.Tuple{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr("10.0.0.2"),
			Proto: 6, SrcPort: port, DstPort: 80}, Prefix: id.Prefix(), Bytes: 60})
	}
	obs("10.0.0.4", 40000, denyID)
	obs("10.0.0.3", 41000, allowID)
	col.Close(time.Now())
	sock := filepath.Join(t.TempDir(), "status.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: flows.NewAPI(col, nil).Handler()}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock, col
}

// syncBuffer is a buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func runFlows(ctx context.Context, sock string, args ...string) (string, string, error) {
	var out syncBuffer
	var errb bytes.Buffer
	err := runFlowsTo(ctx, &out, &errb, sock, args...)
	return out.String(), errb.String(), err
}

func runFlowsTo(ctx context.Context, out, errb io.Writer, sock string, args ...string) error {
	a := &cli.App{Stdio: cli.Stdio{Out: out, Err: errb}, Now: time.Now,
		LookupEnv: func(string) (string, bool) { return "", false }}
	cmd := Command(a)
	cmd.SetArgs(append([]string{"--status-socket", sock}, args...))
	cmd.SetOut(out)
	cmd.SetErr(errb)
	return cmd.ExecuteContext(ctx)
}

// TestFlowsTable: the default table shows src → dst, proto/port, action,
// policy, rule, packets, bytes; filters narrow it.
func TestFlowsTable(t *testing.T) {
	sock, _ := serveDaemon(t)
	out, _, err := runFlows(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "SRC") ||
		!strings.Contains(lines[1], "fruit  →  server  tcp/80      deny    default/allow-bookstore-cliient-to-server  ingress 1  1") ||
		!strings.Contains(lines[2], "book   →  server  tcp/80      allow") {
		t.Fatalf("table:\n%s", out)
	}
	out, _, err = runFlows(context.Background(), sock, "--action", "allow", "--selector", "app == 'book'", "-o", "wide")
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "10.0.0.3") || !strings.Contains(out, "REPORTER") {
		t.Fatalf("filtered wide table (%v):\n%s", err, out)
	}
}

// TestFlowsJSON: -o json is the API's rows, for scripts.
func TestFlowsJSON(t *testing.T) {
	sock, _ := serveDaemon(t)
	out, _, err := runFlows(context.Background(), sock, "-o", "json", "--action", "deny")
	var doc struct {
		Flows []flows.Flow
		Nodes []string
	}
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Flows) != 1 || doc.Flows[0].Policy.Rule != 1 ||
		doc.Nodes[0] != "h1" {
		t.Fatalf("json (%v):\n%s", err, out)
	}
}

// TestFlowsFollow: --follow prints rows as intervals close.
func TestFlowsFollow(t *testing.T) {
	sock, col := serveDaemon(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error)
	go func() { done <- runFlowsTo(ctx, &out, io.Discard, sock, "--follow", "-o", "json", "--action", "deny") }()
	for i := 0; i < 50 && !strings.Contains(out.String(), `"action":"deny"`); i++ {
		col.Observe(flowlogs.Packet{Tuple: flowlogs.Tuple{Src: netip.MustParseAddr("10.0.0.4"), Dst: netip.MustParseAddr("10.0.0.2"),
			Proto: 6, SrcPort: 40001, DstPort: 80}, Prefix: denyID.Prefix(), Bytes: 60})
		col.Observe(flowlogs.Packet{Tuple: flowlogs.Tuple{Src: netip.MustParseAddr("10.0.0.3"), Dst: netip.MustParseAddr("10.0.0.2"),
			Proto: 6, SrcPort: 41001, DstPort: 80}, Prefix: allowID.Prefix(), Bytes: 60})
		col.Close(time.Now())
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, `"action":"deny"`) || strings.Contains(s, `"action":"allow"`) {
		t.Fatalf("follow output:\n%s", s)
	}
}

// TestFlowsBadInput: bad flags name the flag and the fix; an absent
// daemon says how to reach one.
func TestFlowsBadInput(t *testing.T) {
	sock, _ := serveDaemon(t)
	for _, c := range [][]string{
		{"--action", "drop", "--action"}, {"--limit", "0", "--limit"}, {"--limit", "100000", "--limit"},
		{"--selector", "role ===", "--selector"}, {"--since", "yesterday", "--since"}, {"-o", "yaml", "output format"},
		{"--api", "ftp://x", "--api"},
	} {
		_, _, err := runFlows(context.Background(), sock, c[:2]...)
		if err == nil || !strings.Contains(err.Error(), c[2]) {
			t.Errorf("%v: err %v, want one naming %s", c[:2], err, c[2])
		}
	}
	_, _, err := runFlows(context.Background(), filepath.Join(t.TempDir(), "none.sock"))
	if err == nil || !strings.Contains(err.Error(), "--status-socket") {
		t.Errorf("absent daemon: %v", err)
	}
}
