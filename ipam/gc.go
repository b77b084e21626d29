package ipam

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Garbage collection of leaked allocations.
//
// An address leaks when its owner goes away without releasing it: a crash
// between the IPAM driver's RequestAddress and the network driver's
// CreateEndpoint leaves a provisional handle nobody will claim; an
// endpoint deleted behind the daemon's back (or a lost ReleaseAddress)
// leaves an endpoint handle without an endpoint. A GC frees such
// allocations of its own node only, and only when
//
//   - the handle is collectable (GCConfig.Collectable: handles the Docker
//     drivers make; anything else, e.g. addresses an operator assigned, is
//     never touched),
//   - none of the handle's addresses is live (GCConfig.Holders: listed by
//     an endpoint, or held through a handle an endpoint owns),
//   - its newest allocation is older than the grace period (allocations
//     without a timestamp count from when this GC first saw them),
//   - and it was already a suspect in the previous round: a handle is never
//     freed the first time it is seen dead. This covers the moments when
//     a leak is expected to be cleaned by its owner (an endpoint just
//     deleted, whose addresses Docker releases right after).
//
// Races: the blocks are read before the holders, so an endpoint that
// exists by the time the blocks are read is seen live; and the release is
// a compare-and-swap that frees an address only while the handle judged
// dead still holds it, so an address re-owned meanwhile (a provisional
// address claimed by its endpoint) is left alone. Callers whose owners
// record the endpoint before re-owning its addresses (package driver does)
// therefore never lose a live endpoint's address, whatever the grace.

// Holders says which allocations belong to something that exists.
type Holders struct {
	IPs     map[netip.Addr]bool // addresses an endpoint lists
	Handles map[string]bool     // handles an endpoint owns
}

// GCConfig configures a GC.
type GCConfig struct {
	// Grace is how old a dead allocation must be before it is freed.
	Grace time.Duration
	// Collectable reports whether a handle's allocations may be collected
	// at all. Required.
	Collectable func(handle string) bool
	// Holders reads what is alive; called after the blocks are read, in
	// every round. Required.
	// Blocks, if set, reads the blocks instead of listing them from etcd
	// (the daemon answers from its cache). It must list at least every
	// allocation of this node.
	Blocks  func(ctx context.Context) ([]BlockInfo, error)
	Holders func(ctx context.Context) (Holders, error)
	// Reason describes why a dead handle's allocations are leaked, for
	// the log (e.g. "provisional address never given to an endpoint");
	// default "no endpoint holds it".
	Reason func(handle string) string
	// Logger for each freed allocation; default slog.Default().
	Logger *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Freed is one address a GC round released.
type Freed struct {
	IP        netip.Addr
	Handle    string
	Allocated time.Time // zero when the allocation had no timestamp
	Reason    string
}

// GC frees leaked allocations of the Allocator's node. Run it from one
// goroutine (it remembers suspects between rounds).
type GC struct {
	a        *Allocator
	cfg      GCConfig
	suspects map[string]time.Time // handle -> when first seen dead
}

// NewGC returns a GC for the Allocator's node.
func (a *Allocator) NewGC(cfg GCConfig) (*GC, error) {
	if cfg.Collectable == nil || cfg.Holders == nil {
		return nil, fmt.Errorf("ipam GC: Collectable and Holders are required: %w", ErrInvalid)
	}
	if cfg.Grace < 0 {
		return nil, fmt.Errorf("ipam GC: negative grace period %v: %w", cfg.Grace, ErrInvalid)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &GC{a: a, cfg: cfg, suspects: map[string]time.Time{}}, nil
}

// candidate is one handle's allocations on this node.
type candidate struct {
	handle string
	allocs []Allocation
}

// Run does one round: it finds this node's dead allocations and frees
// those that qualify (see the rules above). It returns what it freed; on
// an error, what it freed before it.
func (g *GC) Run(ctx context.Context) ([]Freed, error) {
	read := g.a.Blocks
	if g.cfg.Blocks != nil {
		read = g.cfg.Blocks
	}
	blocks, err := read(ctx)
	if err != nil {
		return nil, fmt.Errorf("ipam GC: %w", err)
	}
	holders, err := g.cfg.Holders(ctx)
	if err != nil {
		return nil, fmt.Errorf("ipam GC: read live endpoints: %w", err)
	}
	now := g.cfg.Now()
	seen := map[string]bool{}
	var freed []Freed
	for _, c := range g.candidates(blocks) {
		if g.live(c, holders) {
			continue
		}
		seen[c.handle] = true
		first, suspect := g.suspects[c.handle]
		if !suspect {
			g.suspects[c.handle] = now
			continue
		}
		newest, dated := newestAllocation(c.allocs)
		if !dated {
			newest = first
		}
		if now.Sub(newest) < g.cfg.Grace {
			continue
		}
		f, err := g.free(ctx, c, newest, dated)
		freed = append(freed, f...)
		if err != nil {
			return freed, err
		}
		delete(g.suspects, c.handle)
		delete(seen, c.handle)
	}
	for h := range g.suspects {
		if !seen[h] { // live again, released, or gone
			delete(g.suspects, h)
		}
	}
	return freed, nil
}

// candidates groups this node's collectable allocations by handle.
func (g *GC) candidates(blocks []BlockInfo) []candidate {
	byHandle := map[string]int{}
	var out []candidate
	for _, b := range blocks {
		for _, al := range b.Allocations {
			node, ok := al.Attrs[AttrNode]
			if !ok {
				node = b.Affinity
			}
			if node != g.a.node || al.Handle == "" || !g.cfg.Collectable(al.Handle) {
				continue
			}
			i, ok := byHandle[al.Handle]
			if !ok {
				i = len(out)
				byHandle[al.Handle] = i
				out = append(out, candidate{handle: al.Handle})
			}
			out[i].allocs = append(out[i].allocs, al)
		}
	}
	return out
}

func (g *GC) live(c candidate, h Holders) bool {
	if h.Handles[c.handle] {
		return true
	}
	for _, al := range c.allocs {
		if h.IPs[al.IP] {
			return true
		}
	}
	return false
}

// newestAllocation is the latest timestamp among allocs, if any has one.
// Timestamps are stored to the second, so each counts as the end of its
// second: an allocation is never taken for older than it is.
func newestAllocation(allocs []Allocation) (time.Time, bool) {
	var newest time.Time
	for _, al := range allocs {
		t, err := time.Parse(time.RFC3339Nano, al.Attrs[AttrTimestamp])
		if err != nil {
			continue
		}
		if t.Nanosecond() == 0 {
			t = t.Add(time.Second)
		}
		if t.After(newest) {
			newest = t
		}
	}
	return newest, !newest.IsZero()
}

// free releases a dead handle's addresses, only while that handle holds
// them, one address per compare-and-swap so each outcome is known.
func (g *GC) free(ctx context.Context, c candidate, newest time.Time, dated bool) ([]Freed, error) {
	reason := "no endpoint holds it"
	if g.cfg.Reason != nil {
		reason = g.cfg.Reason(c.handle)
	}
	var out []Freed
	for _, al := range c.allocs {
		if err := g.a.lock(ctx); err != nil {
			return out, err
		}
		kept, err := g.a.release(ctx, []netip.Addr{al.IP}, onlyHandle(c.handle))
		g.a.unlock()
		if err != nil {
			return out, fmt.Errorf("ipam GC: release %s of handle %q: %w", al.IP, c.handle, err)
		}
		if len(kept) > 0 {
			continue // re-owned or released meanwhile
		}
		f := Freed{IP: al.IP, Handle: c.handle, Reason: reason}
		if dated {
			f.Allocated = newest
		}
		g.cfg.Logger.Info("Released leaked IPAM allocation", "ip", al.IP, "handle", c.handle, "node", g.a.node,
			"allocated", f.Allocated, "reason", reason, "grace", g.cfg.Grace)
		out = append(out, f)
	}
	return out, nil
}
