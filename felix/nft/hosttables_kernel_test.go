package nft_test

import (
	"testing"

	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// TestHostTablesReadBackConverge: the raw and mangle base chains
// (prerouting and output hooks, notrack) read back as written, so a full
// resync or a restarted daemon rewrites nothing (and their counters stay).
func TestHostTablesReadBackConverge(t *testing.T) {
	m, err := rules.HostScaleModel(2)
	if err != nil {
		t.Fatal(err)
	}
	tab, err := nftrules.Build(4, nftrules.PolicyInputs(4, rules.Render(m, "h1", rules.Config{IPVersion: 4}))...)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Hooks) < 6 {
		t.Fatalf("base chains %d, want the filter ones and raw-prerouting, raw-output, mangle-prerouting", len(tab.Hooks))
	}
	want := map[int]*nftrules.Table{4: tab}
	d, host := newDriver(t)
	if err := d.Apply(want, true, false); err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(want, true, false); err != nil || d.Rewrites() != 0 {
		t.Errorf("full re-apply rewrote %d chains (err %v), want 0", d.Rewrites(), err)
	}
	fresh := driverIn(t, host)
	if err := fresh.Apply(want, true, false); err != nil || fresh.Rewrites() != 0 {
		t.Errorf("a fresh driver rewrote %d chains (err %v), want 0", fresh.Rewrites(), err)
	}
}
