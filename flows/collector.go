package flows

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/flowlogs"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Defaults of Config.
const (
	DefaultInterval  = 15 * time.Second
	DefaultMaxRows   = 10000
	DefaultIntervals = 20
)

// RuleTable maps an NFLOG prefix to its rule (*felix.Dataplane).
type RuleTable interface {
	RuleID(prefix string) (rules.RuleID, bool)
}

// CounterSource reads conntrack's counters (*flowlogs.Reader); nil: rows
// of allowed flows count only their first packet.
type CounterSource interface {
	Counters() (map[flowlogs.Tuple]flowlogs.Counts, error)
}

// Config configures a Collector.
type Config struct {
	Node      string
	Interval  time.Duration // default DefaultInterval
	MaxRows   int           // rows per interval; default DefaultMaxRows
	Intervals int           // closed intervals kept; default DefaultIntervals
	Rules     RuleTable
	Counters  CounterSource
	Directory *Directory
	Metrics   *Metrics // may be nil
	Logger    *slog.Logger
}

// Collector aggregates observed packets into intervals. Observe may be
// called from any goroutine; Run closes intervals.
type Collector struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	cur     *interval
	conns   map[connKey]*conn
	unknown uint64 // packets whose prefix the rule table did not know
	ring    *Ring
}

// NewCollector returns a Collector whose first interval starts now.
func NewCollector(cfg Config) *Collector {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if cfg.Intervals <= 0 {
		cfg.Intervals = DefaultIntervals
	}
	if cfg.Directory == nil {
		cfg.Directory = NewDirectory(nil)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics != nil {
		cfg.Directory.setMetrics(cfg.Metrics)
	}
	return &Collector{cfg: cfg, log: cfg.Logger.With("component", "flows"), cur: newInterval(time.Now()),
		conns: map[connKey]*conn{}, ring: NewRing(cfg.Intervals)}
}

// Node is the node whose flows this collector aggregates.
func (c *Collector) Node() string { return c.cfg.Node }

// Ring holds the closed intervals.
func (c *Collector) Ring() *Ring { return c.ring }

// Directory is the endpoint directory the collector attributes flows with.
func (c *Collector) Directory() *Directory { return c.cfg.Directory }

// maxConns bounds the tracked allowed connections.
func (c *Collector) maxConns() int { return 4 * c.cfg.MaxRows }

// Observe takes one logged packet: the first packet of a connection a
// verdict rule decided.
func (c *Collector) Observe(p flowlogs.Packet) {
	id, ok := c.cfg.Rules.RuleID(p.Prefix)
	if !ok {
		c.mu.Lock()
		c.unknown++
		c.mu.Unlock()
		return
	}
	key, tmpl := c.template(p, id) // directory lookups outside c.mu
	ck := connKey{Tuple: p.Tuple, ingress: id.Direction == "ingress"}
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.cur.row(key, &tmpl, c.cfg.MaxRows)
	if r == nil {
		c.cur.dropped++ // a connection (attempt) left out of the rows
	}
	if id.Action == "deny" || c.cfg.Counters == nil {
		if r == nil {
			return
		}
		r.Packets++
		r.Bytes += uint64(p.Bytes)
		if id.Action == "allow" || !c.cur.denied[ck] {
			if len(c.cur.denied) < c.maxConns() {
				c.cur.denied[ck] = true
			}
			r.Flows++
		}
		return
	}
	if _, tracked := c.conns[ck]; tracked {
		return // a retransmitted first packet
	}
	first := flowlogs.Counts{Packets: 1, Bytes: uint64(p.Bytes)} // conntrack counts it too
	if r != nil {
		r.Flows++
		r.Packets, r.Bytes = r.Packets+first.Packets, r.Bytes+first.Bytes
	}
	if len(c.conns) >= c.maxConns() {
		if r != nil {
			c.cur.dropped++ // in its row, but its later counts are lost
		}
		return
	}
	c.conns[ck] = &conn{key: key, flow: tmpl, last: first}
}

// Run closes an interval every Config.Interval until ctx ends.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			c.Close(now)
		}
	}
}

// Close ends the open interval at now: allowed connections get the
// packets and bytes conntrack counted since the last close, the rows go
// to the ring, its subscribers and the metrics, and a new interval opens.
func (c *Collector) Close(now time.Time) {
	var counts map[flowlogs.Tuple]flowlogs.Counts
	if c.cfg.Counters != nil {
		var err error
		if counts, err = c.cfg.Counters.Counters(); err != nil {
			c.log.Warn("Flow logs: reading conntrack counters failed; this interval's allowed flows lack counts", "err", err)
		}
	}
	c.mu.Lock()
	iv := c.cur
	c.cur = newInterval(now)
	if counts != nil {
		c.account(iv, counts)
	}
	rows := iv.sealed(now)
	dropped, unknown := iv.dropped, c.unknown
	c.unknown = 0
	c.mu.Unlock()
	if unknown > 0 {
		c.log.Debug("Flow logs: packets with an unknown rule prefix", "packets", unknown)
	}
	c.cfg.Metrics.record(rows, dropped, c.cfg.Directory)
	c.ring.Push(Interval{Start: iv.start, End: now, Flows: rows, Dropped: dropped})
}

// account adds each tracked connection's counters since the last close
// to its row and forgets connections that ended or conntrack no longer
// has.
func (c *Collector) account(iv *interval, counts map[flowlogs.Tuple]flowlogs.Counts) {
	for ck, cn := range c.conns {
		now, ok := counts[ck.Tuple]
		if !ok {
			delete(c.conns, ck)
			continue
		}
		d := flowlogs.Counts{Packets: now.Packets, Bytes: now.Bytes}
		if now.Packets >= cn.last.Packets && now.Bytes >= cn.last.Bytes {
			d = flowlogs.Counts{Packets: now.Packets - cn.last.Packets, Bytes: now.Bytes - cn.last.Bytes}
		}
		cn.last = now
		if now.Done {
			delete(c.conns, ck) // final counts: accounted below, never again
		}
		if d.Packets == 0 && iv.rows[cn.key] == nil {
			continue // idle and not new this interval: no row
		}
		if r := iv.row(cn.key, &cn.flow, c.cfg.MaxRows); r != nil {
			r.Packets += d.Packets
			r.Bytes += d.Bytes
		} else {
			iv.dropped++
		}
	}
}

// Stats are the collector's bounds in use.
type Stats struct {
	Rows, Conns, MaxRows, MaxConns int
}

// Stats reports the open interval's rows and the tracked connections.
func (c *Collector) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Rows: len(c.cur.rows), Conns: len(c.conns), MaxRows: c.cfg.MaxRows, MaxConns: c.maxConns()}
}
