package flows

import (
	"net/netip"
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/flowlogs"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
	"github.com/calico-docker/calico-libnetwork/internal/seeds"
	"github.com/calico-docker/calico-libnetwork/model"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// ruleTable is a rendered prefix table (rules.Result.RuleIDs).
type ruleTable map[string]rules.RuleID

func (t ruleTable) RuleID(p string) (rules.RuleID, bool) { id, ok := t[p]; return id, ok }

const profileYAML = `apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: store}
spec:
  ingress: [{action: Allow}]
  egress: [{action: Allow}]
---
`

// bookstore returns the seed's example as sync updates: server
// (10.0.0.2), book (10.0.0.3), fruit (10.0.0.4) on node h1, network
// "netid1", and the seed policy, plus extra YAML.
func bookstore(t testing.TB, extra string) []model.Update {
	t.Helper()
	objs, err := resources.DecodeBytes([]byte(profileYAML + seeds.BookstorePolicy + extra))
	if err != nil {
		t.Fatal(err)
	}
	var ups []model.Update
	for _, o := range objs {
		o.Default()
		ups = append(ups, model.UpdateOf(o))
	}
	for _, w := range []struct {
		name, ip string
		labels   map[string]string
	}{
		{"server", "10.0.0.2", map[string]string{"biz_type": "bookstore", "role": "server"}},
		{"book", "10.0.0.3", map[string]string{"biz_type": "bookstore"}},
		{"fruit", "10.0.0.4", map[string]string{"biz_type": "fruitstore"}},
	} {
		ep := resources.NewWorkloadEndpoint("h1-" + w.name)
		ep.Spec.Node, ep.Spec.InterfaceName, ep.Spec.Workload, ep.Spec.Network = "h1", "cali"+w.name, w.name, "netid1"
		ep.Spec.IPNetworks, ep.Spec.Profiles, ep.Labels = []string{w.ip + "/32"}, []string{"store"}, w.labels
		ups = append(ups, model.UpdateOf(ep))
	}
	return ups
}

// setup returns a collector over the bookstore model with its real
// rendered prefix table.
func setup(t testing.TB, cfg Config, extra string) (*Collector, ruleTable) {
	t.Helper()
	ups := bookstore(t, extra)
	dir := NewDirectory(func(id string) string { return map[string]string{"netid1": "store"}[id] })
	dir.OnSyncEvent(model.SyncEvent{Full: true, Updates: ups})
	dir.mu.RLock()
	res := rules.Render(dir.model, "h1", rules.Config{IPVersion: 4, FlowLogGroup: 1})
	dir.mu.RUnlock()
	table := ruleTable(res.RuleIDs)
	cfg.Node, cfg.Rules, cfg.Directory = "h1", table, dir
	return NewCollector(cfg), table
}

// prefixOf finds the prefix of a rule in the table.
func prefixOf(t testing.TB, table ruleTable, action, dir, name string, rule int) string {
	t.Helper()
	for p, id := range table {
		if id.Action == action && id.Direction == dir && id.Name == name && id.Rule == rule {
			return p
		}
	}
	t.Fatalf("no %s %s rule %d of %q in %v", action, dir, rule, name, table)
	return ""
}

func pkt(src, dst string, sport, dport uint16, prefix string) flowlogs.Packet {
	return flowlogs.Packet{Tuple: flowlogs.Tuple{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Proto: 6,
		SrcPort: sport, DstPort: dport}, Prefix: prefix, Bytes: 60, Time: time.Now()}
}
