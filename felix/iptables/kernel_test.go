package iptables

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// newNS creates a throwaway named network namespace for one test.
func newNS(t *testing.T) *ns.NS {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CALICO_TEST_REQUIRE_ROOT") == "1" {
			t.Fatal("test needs root (CALICO_TEST_REQUIRE_ROOT=1)")
		}
		t.Skip("test needs root to create network namespaces")
	}
	name := fmt.Sprintf("fx-ipt-%d-%s", os.Getpid(), strings.NewReplacer("/", "-").Replace(t.Name()))
	if len(name) > 60 {
		name = name[:60]
	}
	errCh := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		h, err := netns.NewNamed(name)
		if err == nil {
			h.Close()
		}
		errCh <- err
	}()
	if err := <-errCh; err != nil {
		t.Fatalf("create netns %s: %v", name, err)
	}
	n, err := ns.Open("/var/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	return n
}

func run(t *testing.T, n *ns.NS, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var in []byte
	if stdin != "" {
		in = []byte(stdin)
	}
	out, err := n.Run(ctx, in, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestDetectBackend(t *testing.T) {
	for _, b := range []Backend{BackendLegacy, BackendNFT} {
		t.Run(string(b), func(t *testing.T) {
			n := newNS(t)
			// Another program's rules (as Docker's would be) decide the backend.
			run(t, n, "", b.binary(4, "save")) // make sure the tool exists
			run(t, n, "", "iptables-"+string(b), "-A", "INPUT", "-s", "192.0.2.1", "-j", "DROP")
			if got := DetectBackend(context.Background(), n); got != b {
				t.Errorf("DetectBackend = %s, want %s", got, b)
			}
		})
	}
}

func TestTableApplyKernel(t *testing.T) {
	for _, b := range []Backend{BackendLegacy, BackendNFT} {
		for _, v := range []int{4, 6} {
			t.Run(fmt.Sprintf("%s-v%d", b, v), func(t *testing.T) { testTableApply(t, b, v) })
		}
	}
}

func testTableApply(t *testing.T, b Backend, v int) {
	n := newNS(t)
	ctx := context.Background()
	tool := b.binary(v, "save")
	cli := strings.TrimSuffix(tool, "-save")
	run(t, n, "", cli, "-P", "FORWARD", "DROP")
	run(t, n, "", cli, "-A", "FORWARD", "-j", "DROP") // a foreign rule
	tbl := NewTable(TableConfig{Name: "filter", IPVersion: v, Backend: b, Runner: n})
	_ = tbl.SetChain(Chain{Name: "cali-FORWARD", Rules: []Rule{{Match: "-i cali+", Action: "ACCEPT"}}})
	_ = tbl.SetInserts("FORWARD", []Rule{{Action: "cali-FORWARD"}})
	if lines, err := tbl.Apply(ctx); err != nil || lines == 0 {
		t.Fatalf("first apply: %d lines, %v", lines, err)
	}
	save := run(t, n, "", tool, "-t", "filter")
	fwd := rulesOf(save, "FORWARD")
	if len(fwd) != 2 || !strings.Contains(fwd[0], "-j cali-FORWARD") || fwd[1] != "-A FORWARD -j DROP" {
		t.Fatalf("FORWARD rules %q, want our jump then the foreign DROP", fwd)
	}
	if !strings.Contains(save, ":FORWARD DROP") {
		t.Error("FORWARD policy changed")
	}
	if lines, err := tbl.Apply(ctx); err != nil || lines != 0 {
		t.Fatalf("second apply: %d lines, %v; want nothing to do", lines, err)
	}
	// Break it: delete our jump and flush our chain; apply heals.
	run(t, n, "", cli, "-D", "FORWARD", "1")
	run(t, n, "", cli, "-F", "cali-FORWARD")
	if _, err := tbl.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	save = run(t, n, "", tool, "-t", "filter")
	if fwd := rulesOf(save, "FORWARD"); len(fwd) != 2 || len(rulesOf(save, "cali-FORWARD")) != 1 {
		t.Fatalf("not healed:\n%s", save)
	}
	// Nothing desired: everything of ours goes, the foreign rule stays.
	tbl.RemoveChain("cali-FORWARD")
	_ = tbl.SetInserts("FORWARD", nil)
	if _, err := tbl.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	save = run(t, n, "", tool, "-t", "filter")
	if strings.Contains(save, "cali") || len(rulesOf(save, "FORWARD")) != 1 {
		t.Fatalf("cleanup left:\n%s", save)
	}
}

func rulesOf(save, chain string) []string {
	var rules []string
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "-A "+chain+" ") {
			rules = append(rules, l)
		}
	}
	return rules
}

// TestTableApplyIncremental: after a successful apply, ApplyIncremental
// writes the delta of a desired change without reading the kernel back, so
// it does not see (and does not repair) changes made by others; Apply does.
func TestTableApplyIncremental(t *testing.T) {
	for _, b := range []Backend{BackendLegacy, BackendNFT} {
		t.Run(string(b), func(t *testing.T) {
			n := newNS(t)
			ctx := context.Background()
			tool := b.binary(4, "save")
			cli := strings.TrimSuffix(tool, "-save")
			counting := &countingRunner{Runner: n}
			tbl := NewTable(TableConfig{Name: "filter", IPVersion: 4, Backend: b, Runner: counting})
			_ = tbl.SetChain(Chain{Name: "cali-a", Rules: []Rule{{Action: "ACCEPT"}}})
			_ = tbl.SetInserts("FORWARD", []Rule{{Action: "cali-a"}})
			if _, err := tbl.ApplyIncremental(ctx); err != nil { // no known state yet: reads back
				t.Fatal(err)
			}
			_ = tbl.SetChain(Chain{Name: "cali-b", Rules: []Rule{{Action: "DROP"}}})
			saves := counting.saves
			if lines, err := tbl.ApplyIncremental(ctx); err != nil || lines != 2 {
				t.Fatalf("incremental apply: %d lines, %v; want the new chain's 2", lines, err)
			}
			if counting.saves != saves {
				t.Error("ApplyIncremental read the table back after a successful apply")
			}
			run(t, n, "", cli, "-D", "FORWARD", "1") // someone removes our jump
			if lines, err := tbl.ApplyIncremental(ctx); err != nil || lines != 0 {
				t.Fatalf("incremental apply after a foreign change: %d lines, %v; want 0 (not read back)", lines, err)
			}
			if lines, err := tbl.Apply(ctx); err != nil || lines == 0 {
				t.Fatalf("full apply: %d lines, %v; want the jump restored", lines, err)
			}
			save := run(t, n, "", tool, "-t", "filter")
			if fwd := rulesOf(save, "FORWARD"); len(fwd) != 1 || len(rulesOf(save, "cali-b")) != 1 {
				t.Fatalf("not healed:\n%s", save)
			}
		})
	}
}

// countingRunner counts the iptables-save runs.
type countingRunner struct {
	Runner
	saves int
}

func (c *countingRunner) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	if strings.HasSuffix(name, "-save") {
		c.saves++
	}
	return c.Runner.Run(ctx, stdin, name, args...)
}

// TestTablePatchesChainsInPlace: rules added to or removed from one of our
// chains are inserted or deleted where they go (two lines for two rules,
// not a flush and the whole chain), and the kernel ends up holding exactly
// the desired chain: a read-back finds nothing to do.
func TestTablePatchesChainsInPlace(t *testing.T) {
	for _, b := range []Backend{BackendLegacy, BackendNFT} {
		for _, v := range []int{4, 6} {
			t.Run(fmt.Sprintf("%s-v%d", b, v), func(t *testing.T) {
				n := newNS(t)
				ctx := context.Background()
				tbl := NewTable(TableConfig{Name: "filter", IPVersion: v, Backend: b, Runner: n})
				r := func(iface string) Rule { return Rule{Match: "-i " + iface, Action: "ACCEPT"} }
				steps := []struct {
					rules []Rule
					lines int
				}{
					{[]Rule{r("cali1"), r("cali3"), {Action: "DROP"}}, 4}, // a new chain: declared, three rules
					{[]Rule{r("cali0"), r("cali1"), r("cali2"), r("cali3"), {Action: "DROP"}}, 2},
					{[]Rule{r("cali0"), r("cali2"), {Action: "DROP"}}, 2},
					{[]Rule{{Action: "DROP"}, r("cali2")}, 3}, // neither: rewritten
				}
				for i, s := range steps {
					_ = tbl.SetChain(Chain{Name: "cali-dispatch", Rules: s.rules})
					if lines, err := tbl.ApplyIncremental(ctx); err != nil || lines != s.lines {
						t.Fatalf("step %d: %d lines, %v; want %d", i, lines, err, s.lines)
					}
					save := run(t, n, "", b.binary(v, "save"), "-t", "filter")
					var hashes []string
					for _, l := range rulesOf(save, "cali-dispatch") {
						hashes = append(hashes, ruleHash(l))
					}
					if want := ruleHashes("cali-dispatch", s.rules); !slices.Equal(hashes, want) {
						t.Fatalf("step %d: kernel holds %v, want %v:\n%s", i, hashes, want, save)
					}
					if lines, err := tbl.Apply(ctx); err != nil || lines != 0 {
						t.Fatalf("step %d: read-back apply: %d lines, %v; want nothing to do", i, lines, err)
					}
				}
			})
		}
	}
}

// TestTableAnyOrderKernel: a dispatch-like chain (AnyOrder) gets a new
// rule at its top with one line, whatever its sorted place, and a
// read-back then finds the kernel holding what the Table expects.
func TestTableAnyOrderKernel(t *testing.T) {
	for _, b := range []Backend{BackendLegacy, BackendNFT} {
		t.Run(string(b), func(t *testing.T) {
			n := newNS(t)
			ctx := context.Background()
			tbl := NewTable(TableConfig{Name: "filter", IPVersion: 4, Backend: b, Runner: n, AnyOrder: []string{"cali-dispatch"}})
			r := func(iface string) Rule { return Rule{Match: "-i " + iface, Action: "ACCEPT"} }
			drop := Rule{Action: "DROP"}
			for i, s := range []struct {
				rules []Rule
				lines int
				order []string
			}{
				{[]Rule{r("cali1"), r("cali3"), drop}, 4, []string{"cali1", "cali3", ""}},
				{[]Rule{r("cali1"), r("cali2"), r("cali3"), drop}, 1, []string{"cali2", "cali1", "cali3", ""}},
				{[]Rule{r("cali0"), r("cali2"), r("cali3"), r("cali4"), drop}, 3, []string{"cali0", "cali4", "cali2", "cali3", ""}},
			} {
				_ = tbl.SetChain(Chain{Name: "cali-dispatch", Rules: s.rules})
				if lines, err := tbl.ApplyIncremental(ctx); err != nil || lines != s.lines {
					t.Fatalf("step %d: %d lines, %v; want %d", i, lines, err, s.lines)
				}
				if order := chainIfaces(t, n, b, "cali-dispatch"); !slices.Equal(order, s.order) {
					t.Fatalf("step %d: kernel order %q, want %q", i, order, s.order)
				}
				if lines, err := tbl.Apply(ctx); err != nil || lines != 0 {
					t.Fatalf("step %d: read-back apply: %d lines, %v; want nothing to do", i, lines, err)
				}
			}
		})
	}
}

// TestTablePatchDeletesByText: a rule slipped into one of our chains
// behind our back moves our rules down; an incremental apply (which does
// not read back) still deletes the rule that went, not whatever is now at
// its old position, and the next read-back removes the stranger.
func TestTablePatchDeletesByText(t *testing.T) {
	for _, b := range []Backend{BackendLegacy, BackendNFT} {
		t.Run(string(b), func(t *testing.T) {
			n := newNS(t)
			ctx := context.Background()
			cli := strings.TrimSuffix(b.binary(4, "save"), "-save")
			tbl := NewTable(TableConfig{Name: "filter", IPVersion: 4, Backend: b, Runner: n, AnyOrder: []string{"cali-dispatch"}})
			r := func(iface string) Rule { return Rule{Match: "-i " + iface, Action: "ACCEPT"} }
			drop := Rule{Action: "DROP"}
			_ = tbl.SetChain(Chain{Name: "cali-dispatch", Rules: []Rule{r("cali1"), r("cali2"), r("cali3"), drop}})
			if _, err := tbl.ApplyIncremental(ctx); err != nil {
				t.Fatal(err)
			}
			run(t, n, "", cli, "-I", "cali-dispatch", "1", "-i", "stranger", "-j", "ACCEPT")
			_ = tbl.SetChain(Chain{Name: "cali-dispatch", Rules: []Rule{r("cali1"), r("cali3"), drop}})
			if lines, err := tbl.ApplyIncremental(ctx); err != nil || lines != 1 {
				t.Fatalf("incremental apply: %d lines, %v; want one deletion", lines, err)
			}
			ifaces := func() []string { return chainIfaces(t, n, b, "cali-dispatch") }
			if got, want := ifaces(), []string{"stranger", "cali1", "cali3", ""}; !slices.Equal(got, want) {
				t.Fatalf("after the deletion the chain holds %q, want %q", got, want)
			}
			if _, err := tbl.Apply(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := ifaces(), []string{"cali1", "cali3", ""}; !slices.Equal(got, want) {
				t.Fatalf("after a read-back the chain holds %q, want %q", got, want)
			}
		})
	}
}

// chainIfaces returns, in order, the input interface of each rule of an
// IPv4 filter chain ("" for a rule without -i).
func chainIfaces(t *testing.T, n *ns.NS, b Backend, chain string) []string {
	t.Helper()
	var out []string
	for _, l := range rulesOf(run(t, n, "", b.binary(4, "save"), "-t", "filter"), chain) {
		iface := ""
		if f := strings.Fields(l); len(f) > 3 && f[2] == "-i" {
			iface = f[3]
		}
		out = append(out, iface)
	}
	return out
}
