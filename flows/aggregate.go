package flows

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/flowlogs"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// rowKey identifies an aggregated row within an interval.
type rowKey struct {
	reporter         string
	src, dst         string // endpoint identity: kind/namespace/name or the address of a "net"
	proto            uint8
	dstPort          uint16
	action           string
	prefix           string // the deciding rule's NFLOG prefix
	staged           string // the staged verdicts, rendered
	srcNode, dstNode string
}

// connKey is one connection as one side's policy saw it.
type connKey struct {
	flowlogs.Tuple
	ingress bool
}

// conn is a tracked allowed connection: its row and the counters last
// read from conntrack.
type conn struct {
	key  rowKey
	flow Flow // template of its rows (endpoints, policy, staged)
	last flowlogs.Counts
}

// interval is the open aggregation interval.
type interval struct {
	start   time.Time
	rows    map[rowKey]*Flow
	denied  map[connKey]bool // denied tuples seen (for Flow.Flows)
	dropped uint64
}

func newInterval(start time.Time) *interval {
	return &interval{start: start, rows: map[rowKey]*Flow{}, denied: map[connKey]bool{}}
}

func endpointID(e Endpoint) string {
	if e.Kind == "net" {
		return "net/" + e.IP
	}
	return e.Kind + "/" + e.Namespace + "/" + e.Name
}

func stagedID(st []Staged) string {
	var b strings.Builder
	for _, s := range st {
		b.WriteString(s.Kind + "/" + s.Namespace + "/" + s.Name + "/" + strconv.Itoa(s.Rule) + "/" + s.Action + ";")
	}
	return b.String()
}

// row returns the interval's row for key, creating it from tmpl; nil when
// the interval is full (the caller counts what it could not record).
func (iv *interval) row(key rowKey, tmpl *Flow, maxRows int) *Flow {
	if r := iv.rows[key]; r != nil {
		return r
	}
	if len(iv.rows) >= maxRows {
		return nil
	}
	r := *tmpl
	r.Packets, r.Bytes, r.Flows = 0, 0, 0
	iv.rows[key] = &r
	return &r
}

// template builds a row's identity from an observed packet.
func (c *Collector) template(p flowlogs.Packet, id rules.RuleID) (rowKey, Flow) {
	src, dst := c.cfg.Directory.Endpoint(p.Src), c.cfg.Directory.Endpoint(p.Dst)
	reporter := "src"
	if id.Direction == "ingress" {
		reporter = "dst"
	}
	f := Flow{Node: c.cfg.Node, Reporter: reporter, Src: src, Dst: dst, Proto: ProtoName(p.Proto), DstPort: p.DstPort,
		Action: id.Action, Policy: PolicyRef{Tier: id.Tier, Kind: id.Kind, Namespace: id.Namespace, Name: id.Name,
			Rule: id.Rule, Direction: id.Direction, Trigger: id.Trigger},
		Staged: c.cfg.Directory.Staged(p.Tuple, id.Direction)}
	if f.Staged == nil {
		f.Staged = []Staged{}
	}
	key := rowKey{reporter: reporter, src: endpointID(src), dst: endpointID(dst), proto: p.Proto, dstPort: p.DstPort,
		action: id.Action, prefix: p.Prefix, staged: stagedID(f.Staged), srcNode: src.Node, dstNode: dst.Node}
	return key, f
}

// sealed returns the interval's rows, sorted (denied first, then by
// packets), stamped with the interval's bounds.
func (iv *interval) sealed(end time.Time) []Flow {
	out := make([]Flow, 0, len(iv.rows))
	for _, r := range iv.rows {
		r.Start, r.End = iv.start.UTC().Truncate(time.Millisecond), end.UTC().Truncate(time.Millisecond)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Flow) int {
		return cmp.Or(cmp.Compare(a.Action, b.Action)*-1, cmp.Compare(b.Packets, a.Packets),
			cmp.Compare(a.Src.Name, b.Src.Name), cmp.Compare(a.Dst.Name, b.Dst.Name), cmp.Compare(a.DstPort, b.DstPort))
	})
	return out
}
