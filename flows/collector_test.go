package flows

import (
	"testing"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/flowlogs"
)

// TestAggregateBookstore: the seed's example; fruit's connections to the
// server are denied by the policy's rule 1 (Deny), book's allowed by rule
// 0, each aggregated into one row per key with endpoint names, network and
// labels from the directory.
func TestAggregateBookstore(t *testing.T) {
	c, table := setup(t, Config{}, "")
	deny := prefixOf(t, table, "deny", "ingress", "allow-bookstore-cliient-to-server", 1)
	allow := prefixOf(t, table, "allow", "ingress", "allow-bookstore-cliient-to-server", 0)
	for i := range 3 {
		c.Observe(pkt("10.0.0.4", "10.0.0.2", uint16(40000+i), 80, deny))
	}
	c.Observe(pkt("10.0.0.4", "10.0.0.2", 40000, 80, deny)) // a retransmitted SYN: no new flow
	c.Observe(pkt("10.0.0.3", "10.0.0.2", 41000, 80, allow))
	c.Observe(pkt("10.0.0.3", "10.0.0.2", 41001, 80, allow))
	c.Observe(pkt("10.0.0.3", "10.0.0.2", 41002, 8080, allow)) // another port: another row
	c.Close(time.Now())
	rows, dropped := c.Ring().Query(Filter{Limit: 100})
	if len(rows) != 3 || dropped != 0 {
		t.Fatalf("rows %+v dropped %d", rows, dropped)
	}
	d := rows[0]
	if d.Action != "deny" || d.Src.Name != "fruit" || d.Dst.Name != "server" || d.Dst.Network != "store" ||
		d.Dst.Labels["role"] != "server" || d.Policy.Name != "allow-bookstore-cliient-to-server" || d.Policy.Rule != 1 ||
		d.Policy.Kind != "NetworkPolicy" || d.Policy.Namespace != "default" || d.Reporter != "dst" ||
		d.Packets != 4 || d.Bytes != 240 || d.Flows != 3 || d.Proto != "tcp" || d.DstPort != 80 || d.Node != "h1" {
		t.Errorf("denied row %+v", d)
	}
	var allowed80 *Flow
	for i := range rows {
		if rows[i].Action == "allow" && rows[i].DstPort == 80 {
			allowed80 = &rows[i]
		}
	}
	if allowed80 == nil || allowed80.Src.Name != "book" || allowed80.Flows != 2 || allowed80.Policy.Rule != 0 {
		t.Errorf("allowed row %+v", allowed80)
	}
}

// TestBounds: at most MaxRows rows per interval, the connections left out
// counted as dropped (3 denied + 20 allowed: the allowed key would be a
// third row); tracked connections at most 4×MaxRows.
func TestBounds(t *testing.T) {
	c, table := setup(t, Config{MaxRows: 2, Counters: counters{}}, "")
	deny := prefixOf(t, table, "deny", "ingress", "allow-bookstore-cliient-to-server", 1)
	allow := prefixOf(t, table, "allow", "ingress", "allow-bookstore-cliient-to-server", 0)
	for p := range 5 {
		c.Observe(pkt("10.0.0.4", "10.0.0.2", 40000, uint16(80+p), deny)) // 5 keys
	}
	for p := range 20 {
		c.Observe(pkt("10.0.0.3", "10.0.0.2", uint16(41000+p), 80, allow))
	}
	if st := c.Stats(); st.Rows != 2 || st.Conns != 8 {
		t.Fatalf("stats %+v, want 2 rows and 8 connections", st)
	}
	c.Close(time.Now())
	rows, dropped := c.Ring().Query(Filter{Limit: 100})
	if len(rows) != 2 || dropped != 3+20 {
		t.Fatalf("%d rows, dropped %d; want 2 and 23", len(rows), dropped)
	}
}

// counters stands in for conntrack's table (the real one is read in
// felix's TestFlowLogsKernel): a fixed dump.
type counters map[flowlogs.Tuple]flowlogs.Counts

func (c counters) Counters() (map[flowlogs.Tuple]flowlogs.Counts, error) { return c, nil }

// TestCountsAcrossIntervals: an allowed connection's row carries the
// conntrack counts since the previous close; an idle connection makes no
// row; one conntrack forgot is forgotten.
func TestCountsAcrossIntervals(t *testing.T) {
	ct := counters{}
	c, table := setup(t, Config{Counters: ct}, "")
	allow := prefixOf(t, table, "allow", "ingress", "allow-bookstore-cliient-to-server", 0)
	p := pkt("10.0.0.3", "10.0.0.2", 41000, 80, allow)
	c.Observe(p)
	ct[p.Tuple] = flowlogs.Counts{Packets: 10, Bytes: 1000}
	c.Close(time.Now())
	ct[p.Tuple] = flowlogs.Counts{Packets: 15, Bytes: 1500}
	c.Close(time.Now())
	c.Close(time.Now()) // idle
	delete(ct, p.Tuple)
	c.Close(time.Now())
	rows, _ := c.Ring().Query(Filter{Limit: 100})
	if len(rows) != 2 || rows[0].Packets != 5 || rows[0].Bytes != 500 || rows[1].Packets != 10 || rows[1].Bytes != 1000 ||
		rows[1].Flows != 1 || rows[0].Flows != 0 {
		t.Fatalf("rows %+v", rows)
	}
	if st := c.Stats(); st.Conns != 0 {
		t.Fatalf("%d connections still tracked", st.Conns)
	}
}

// TestRing: only the last Intervals intervals are kept.
func TestRing(t *testing.T) {
	c, table := setup(t, Config{Intervals: 3}, "")
	deny := prefixOf(t, table, "deny", "ingress", "allow-bookstore-cliient-to-server", 1)
	for i := range 5 {
		c.Observe(pkt("10.0.0.4", "10.0.0.2", 40000, uint16(1+i), deny))
		c.Close(time.Now())
	}
	rows, _ := c.Ring().Query(Filter{Limit: 100})
	if len(rows) != 3 || rows[0].DstPort != 5 || rows[2].DstPort != 3 {
		t.Fatalf("rows %+v", rows)
	}
}

// TestStaged: a staged policy's would-be verdict is reported beside the
// enforced one.
func TestStaged(t *testing.T) {
	staged := `---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: allow-bookstore-cliient-to-server}
spec:
  selector: role == 'server'
  ingress: [{action: Allow, protocol: TCP}]
`
	c, table := setup(t, Config{}, staged)
	deny := prefixOf(t, table, "deny", "ingress", "allow-bookstore-cliient-to-server", 1)
	c.Observe(pkt("10.0.0.4", "10.0.0.2", 40000, 80, deny))
	c.Close(time.Now())
	rows, _ := c.Ring().Query(Filter{Limit: 10})
	if len(rows) != 1 || len(rows[0].Staged) != 1 || rows[0].Staged[0].Action != "allow" ||
		rows[0].Staged[0].Kind != "StagedNetworkPolicy" || rows[0].Action != "deny" {
		t.Fatalf("rows %+v", rows)
	}
}

// TestEndedConnectionsForgotten: a connection conntrack reports ended
// (TIME_WAIT) has its final counts accounted and is no longer tracked.
func TestEndedConnectionsForgotten(t *testing.T) {
	ct := counters{}
	c, table := setup(t, Config{Counters: ct}, "")
	allow := prefixOf(t, table, "allow", "ingress", "allow-bookstore-cliient-to-server", 0)
	p := pkt("10.0.0.3", "10.0.0.2", 41000, 80, allow)
	c.Observe(p)
	ct[p.Tuple] = flowlogs.Counts{Packets: 10, Bytes: 1000, Done: true}
	c.Close(time.Now())
	rows, _ := c.Ring().Query(Filter{Limit: 10})
	if st := c.Stats(); st.Conns != 0 || len(rows) != 1 || rows[0].Packets != 10 {
		t.Fatalf("stats %+v rows %+v", st, rows)
	}
}
