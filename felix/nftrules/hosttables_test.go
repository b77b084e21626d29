package nftrules

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables/expr"

	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Host endpoints' raw and mangle tables land in the same nftables table:
// their chains renamed apart from the filter table's (felix/rules reuses
// names such as cali-OUTPUT and cali-failsafe-in across tables), jumps
// renamed with them, inserts in base chains at raw and mangle priority,
// NOTRACK compiled to a notrack expression; every rule compiles.
func TestBuildHostTables(t *testing.T) {
	m, err := rules.HostScaleModel(1)
	if err != nil {
		t.Fatal(err)
	}
	res := rules.Render(m, "h1", rules.Config{IPVersion: 4})
	if len(res.Raw.Chains) == 0 || len(res.Mangle.Chains) == 0 {
		t.Fatalf("rendered no raw or mangle chains: %+v %+v", res.Raw, res.Mangle)
	}
	tab, err := Build(4, PolicyInputs(4, res)...)
	if err != nil {
		t.Fatal(err)
	}
	// and SpoofedChain, beside the from-workload dispatch map
	if len(tab.Chains) != len(res.Chains)+len(res.Raw.Chains)+len(res.Mangle.Chains)+1 {
		t.Errorf("%d chains, want every table's (%d+%d+%d) and %s", len(tab.Chains), len(res.Chains), len(res.Raw.Chains), len(res.Mangle.Chains), SpoofedChain)
	}
	hooks := map[string]Hook{}
	for _, h := range tab.Hooks {
		hooks[h.Name] = h
	}
	for name, want := range map[string]int32{"raw-prerouting": RawPriority, "raw-output": RawPriority, "mangle-prerouting": ManglePriority} {
		if h, ok := hooks[name]; !ok || h.Priority != want || len(h.Rules) != 1 {
			t.Errorf("base chain %s: %+v, want priority %d and one jump", name, h, want)
		}
	}
	if got := hooks["raw-output"].Rules[0].Action; got != "raw-"+rules.ChainRawOutput {
		t.Errorf("raw OUTPUT jumps to %q, want the renamed raw-%s", got, rules.ChainRawOutput)
	}
	notracks := 0
	for name, rs := range tab.Chains {
		for _, r := range rs {
			if strings.Contains(r.Match, " -g ") || strings.HasPrefix(r.Match, "-g ") {
				target := strings.Fields(r.Match[strings.Index(r.Match, "-g "):])[1]
				if _, ok := tab.Chains[target]; !ok {
					t.Errorf("chain %s: goto %s, not a chain of the table", name, target)
				}
			}
			if strings.HasPrefix(r.Action, "cali-") || strings.HasPrefix(r.Action, "raw-") || strings.HasPrefix(r.Action, "mangle-") {
				if _, ok := tab.Chains[r.Action]; !ok {
					t.Errorf("chain %s: jump to %s, not a chain of the table", name, r.Action)
				}
			}
			for _, e := range Expand(r) {
				exprs, err := Compile(4, name, e)
				if err != nil {
					t.Errorf("chain %s: %v", name, err)
				}
				if slices.ContainsFunc(exprs, func(x expr.Any) bool { _, ok := x.(*expr.Notrack); return ok }) {
					notracks++
				}
			}
		}
	}
	if notracks != 2 {
		t.Errorf("%d notrack rules, want 2 (raw prerouting and output)", notracks)
	}
}
