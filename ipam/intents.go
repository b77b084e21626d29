package ipam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// Release intents.
//
// Docker never retries a ReleaseAddress, so a release that fails because
// etcd does not answer would leak its address until the GC frees it. A
// release the allocator could not apply (and an allocation whose write
// may have landed although its caller was told it failed) is recorded as
// an Intent in a file on local disk (etcd is what is missing), and the
// allocator applies the intents once etcd answers again: at the next
// request, and from RunIntents' loop. An intent is applied at most once
// in effect: it frees an address only while the recorded handle holds it
// (and, for a release by address alone, only an allocation made no later
// than the intent, to the second), so an address freed meanwhile and
// handed to another workload is not taken from it (by address alone: not
// unless that happened within the intent's second). A lost write that
// may still land is fenced off before an intent counts as settled.

// Intent is one release not yet applied.
type Intent struct {
	// IP is the address to free; the zero Addr means every address of Handle.
	IP netip.Addr `json:"ip,omitzero"`
	// Handle, when set, limits the release to allocations this handle holds.
	Handle string `json:"handle,omitempty"`
	// Before limits the release to allocations made no later than this
	// (allocation timestamps are kept to the second).
	Before time.Time `json:"before"`
	// Reason is for the log.
	Reason string `json:"reason,omitempty"`
}

func (in Intent) String() string {
	if !in.IP.IsValid() {
		return fmt.Sprintf("handle %q", in.Handle)
	}
	if in.Handle == "" {
		return in.IP.String()
	}
	return fmt.Sprintf("%s of handle %q", in.IP, in.Handle)
}

// Intents is the durable list of release intents. Safe for concurrent use.
type Intents struct {
	path  string // "" keeps them in memory only
	mu    sync.Mutex
	items []Intent
	kick  chan struct{}
}

// OpenIntents loads the intents kept at path (created on first use);
// with path "" they are kept in memory only.
func OpenIntents(path string) (*Intents, error) {
	q := &Intents{path: path, kick: make(chan struct{}, 1)}
	if path == "" {
		return q, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return q, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read IPAM release intents %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &q.items); err != nil {
		return nil, fmt.Errorf("IPAM release intents %s are corrupt (%v): move the file away to start afresh; the GC frees what it listed", path, err)
	}
	return q, nil
}

// Add records intents durably (the file is replaced atomically and synced).
func (q *Intents) Add(items ...Intent) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	next := append(slices.Clone(q.items), items...)
	if err := q.save(next); err != nil {
		return err
	}
	q.items = next
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return nil
}

// Pending returns the intents not yet applied.
func (q *Intents) Pending() []Intent {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.items)
}

// remove drops the applied intents.
func (q *Intents) remove(done []Intent) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	next := slices.DeleteFunc(slices.Clone(q.items), func(in Intent) bool { return slices.ContainsFunc(done, in.equal) })
	if err := q.save(next); err != nil {
		return err
	}
	q.items = next
	return nil
}

func (in Intent) equal(o Intent) bool {
	return in.IP == o.IP && in.Handle == o.Handle && in.Before.Equal(o.Before)
}

// save writes items to the file: a temporary file, synced, renamed.
func (q *Intents) save(items []Intent) error {
	if q.path == "" {
		return nil
	}
	data, err := json.Marshal(items)
	if err != nil {
		return fmt.Errorf("encode IPAM release intents: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(q.path), 0o700); err != nil {
		return fmt.Errorf("IPAM release intents directory: %w", err)
	}
	tmp := q.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write IPAM release intents %s: %w", tmp, err)
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("write IPAM release intents %s: %w", tmp, werr)
	}
	if err := os.Rename(tmp, q.path); err != nil {
		return fmt.Errorf("write IPAM release intents %s: %w", q.path, err)
	}
	return nil
}

// SetIntents makes the allocator record releases it cannot apply in q
// and apply them when etcd answers.
func (a *Allocator) SetIntents(q *Intents) { a.intents = q }

// ApplyIntents applies the pending intents, stopping at the first that
// etcd does not answer for. It returns how many were settled.
func (a *Allocator) ApplyIntents(ctx context.Context) (int, error) {
	if a.intents == nil {
		return 0, nil
	}
	if len(a.intents.Pending()) == 0 {
		return 0, nil
	}
	if err := a.lock(ctx); err != nil {
		return 0, err
	}
	defer a.unlock()
	return a.applyIntentsLocked(ctx)
}

// applyIntentsLocked is ApplyIntents with the mutation lock held.
func (a *Allocator) applyIntentsLocked(ctx context.Context) (int, error) {
	if a.intents == nil {
		return 0, nil
	}
	pending := a.intents.Pending()
	var done []Intent
	var err error
	for _, in := range pending {
		if err = a.applyIntent(ctx, in); err != nil {
			break
		}
		done = append(done, in)
	}
	if rerr := a.intents.remove(done); rerr != nil && err == nil {
		err = rerr
	}
	return len(done), err
}

// applyIntent applies one intent; nil when it is settled (applied, or
// nothing left to release).
func (a *Allocator) applyIntent(ctx context.Context, in Intent) error {
	if !in.IP.IsValid() {
		err := a.releaseHandle(ctx, in.Handle)
		if errors.Is(err, ErrHandleNotFound) {
			err = nil
		}
		return err
	}
	match := func(at attribute) bool {
		if in.Handle != "" {
			return at.handle() == in.Handle
		}
		// By address alone: only an allocation made before the intent.
		// One made after it may be a new holder's (the address freed by a
		// write whose answer was lost and handed out again at once):
		// freeing it would hand the address out twice. Allocations carry
		// nanosecond timestamps from this node's clock, the clock the
		// intent was taken from; an older second-precision timestamp
		// counts only from an earlier second, and one that can't be read
		// never: those are left to the GC, which frees them if orphaned.
		ts := at.Secondary[AttrTimestamp]
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return false
		}
		if !strings.Contains(ts, ".") {
			return t.Before(in.Before.Truncate(time.Second))
		}
		return t.Before(in.Before)
	}
	missing, err := a.release(ctx, []netip.Addr{in.IP}, match)
	if err == nil && len(missing) > 0 {
		// Nothing to free: fence the block, so that a write lost while
		// etcd was away (still queued in it) can no longer apply.
		err = a.touch(ctx, in.IP)
	}
	if err == nil {
		slog.Info("ipam: applied a release intent", "intent", in.String(), "reason", in.Reason, "freed", len(missing) == 0)
	}
	return err
}

// touch rewrites the block holding ip unchanged, moving its revision on.
func (a *Allocator) touch(ctx context.Context, ip netip.Addr) error {
	cidr, found, err := a.blockOf(ctx, ip)
	if err != nil || !found {
		return err
	}
	delete(a.cache, cidr)
	kv, ok, err := a.getKey(ctx, blockKey(cidr))
	if err != nil || !ok {
		return err
	}
	res, err := a.commitTxn(ctx, "fence block "+cidr.String(), datastore.Txn{
		If: []datastore.Cond{datastore.At(kv.Key, kv.ModRevision)}, Then: []datastore.Op{datastore.Put(kv.Key, kv.Value)}})
	if err == nil && !res.Succeeded {
		// The block changed meanwhile (perhaps a lost write landing):
		// keep the intent and look again.
		err = fmt.Errorf("fence block %s: it changed meanwhile: %w", cidr, ErrConflict)
	}
	return err
}

// RunIntents applies intents whenever some are recorded, and retries
// every interval while any is pending, until ctx ends.
func (a *Allocator) RunIntents(ctx context.Context, interval time.Duration) {
	if a.intents == nil {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if len(a.intents.Pending()) > 0 {
			if n, err := a.ApplyIntents(ctx); err != nil {
				slog.Warn("ipam: release intents wait for etcd", "applied", n, "pending", len(a.intents.Pending()), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.intents.kick:
		}
	}
}
