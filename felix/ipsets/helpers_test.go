package ipsets

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
	"github.com/calico-docker/calico-libnetwork/internal/testenv"
)

// newNS returns a runner for a fresh network namespace of the test's own
// (IP sets are per network namespace), deleted by exact name afterwards.
func newNS(t testing.TB) *ns.NS {
	t.Helper()
	testenv.RequireTools(t, "ipset")
	_, name := testenv.NewNetNS(t)
	n, err := ns.Open(testenv.NetNSDir + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() }) // runs before NewNetNS's cleanup deletes it
	return n
}

// run runs a command by hand in the namespace, as an operator would.
func run(t testing.TB, r Runner, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := r.Run(ctx, nil, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// kernel reads every set in the namespace, with members.
func kernel(t testing.TB, r Runner) map[string]*kernelSet {
	t.Helper()
	sets, err := parseList([]byte(run(t, r, "ipset", "list")), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

// recorder passes every command to the real runner and keeps the restore
// batches, so tests can check what was written.
type recorder struct {
	Runner
	mu      sync.Mutex
	batches [][]string
}

var _ Runner = (*recorder)(nil)

func (r *recorder) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	if len(args) > 0 && args[0] == "restore" {
		r.mu.Lock()
		r.batches = append(r.batches, strings.Split(strings.TrimSuffix(string(stdin), "\n"), "\n"))
		r.mu.Unlock()
	}
	return r.Runner.Run(ctx, stdin, name, args...)
}

// take returns the batches recorded so far and forgets them.
func (r *recorder) take() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.batches
	r.batches = nil
	return b
}

// faulty injects failures the real kernel will not give on demand: the next
// call whose first argument is failArg fails once, either outright or (when
// keepLines > 0) after passing only the first keepLines lines of its batch
// to the kernel, as a restore that stops at a bad line does.
type faulty struct {
	Runner
	failArg   string
	keepLines int
}

var _ Runner = (*faulty)(nil)

var errInjected = errors.New("injected failure")

func (f *faulty) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	if f.failArg == "" || len(args) == 0 || args[0] != f.failArg {
		return f.Runner.Run(ctx, stdin, name, args...)
	}
	f.failArg = ""
	if f.keepLines > 0 {
		lines := strings.SplitAfter(string(stdin), "\n")
		if _, err := f.Runner.Run(ctx, []byte(strings.Join(lines[:f.keepLines], "")), name, args...); err != nil {
			return nil, err
		}
	}
	return nil, errInjected
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// members returns the members of a kernel set as the kernel prints them,
// sorted.
func members(s *kernelSet) []string {
	var out []string
	for _, p := range slices.SortedFunc(maps.Keys(s.members), netip.Prefix.Compare) {
		out = append(out, formatMember(p))
	}
	return out
}
