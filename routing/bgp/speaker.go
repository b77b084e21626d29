package bgp

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/osrg/gobgp/v3/pkg/server"
)

// Defaults.
const (
	DefaultRestartTime = 120 * time.Second
	retryMin           = 200 * time.Millisecond
	retryMax           = 10 * time.Second
)

// Config configures a Speaker. The zero value is usable.
type Config struct {
	// RestartTime is the graceful-restart time announced to peers: how long
	// they keep this node's routes while it is away. Default 120s.
	RestartTime time.Duration
	// GracefulStop makes Run, when its context ends, close its sessions
	// without a NOTIFICATION so peers keep this node's routes for
	// RestartTime (see the package doc). Default true; set
	// DisableGracefulStop to withdraw at once instead.
	DisableGracefulStop bool
	Logger              *slog.Logger
}

// Speaker owns one GoBGP server. Its methods are safe for concurrent use;
// only Run's goroutine touches the server.
type Speaker struct {
	cfg  Config
	log  *slog.Logger
	kick chan struct{}
	done chan struct{}

	mu        sync.Mutex
	desired   Desired
	learned   map[netip.Prefix]Route
	changes   chan struct{} // learned routes changed; buffer 1
	peers     map[netip.Addr]*peerState
	running   bool
	applied   Global
	exported  int
	lastError string
	// priorities: the import policies remove priorities peers send, so
	// those on learned paths were set here (see priorityTag).
	priorities bool
}

// peerState is what the watch reported about one neighbor.
type peerState struct {
	state string
	since time.Time
	eor   bool
}

// New returns a Speaker; nothing runs until Run.
func New(cfg Config) *Speaker {
	if cfg.RestartTime <= 0 {
		cfg.RestartTime = DefaultRestartTime
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Speaker{
		cfg: cfg, log: cfg.Logger.With("component", "bgp"),
		kick: make(chan struct{}, 1), done: make(chan struct{}),
		learned: map[netip.Prefix]Route{}, changes: make(chan struct{}, 1),
		peers: map[netip.Addr]*peerState{},
	}
}

// SetDesired replaces the desired configuration; Run applies it soon.
func (s *Speaker) SetDesired(d Desired) {
	d.Peers = slices.Clone(d.Peers)
	d.Exports = slices.Clone(d.Exports)
	if d.Global != nil {
		g := *d.Global
		d.Global = &g
	}
	s.mu.Lock()
	s.desired = d
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Learned returns the best learned route per prefix.
func (s *Speaker) Learned() map[netip.Prefix]Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.learned)
}

// Changes receives a value (coalesced) whenever Learned or a peer's state
// changed.
func (s *Speaker) Changes() <-chan struct{} { return s.changes }

// Done is closed when Run has returned.
func (s *Speaker) Done() <-chan struct{} { return s.done }

// Synced reports whether BGP runs and every desired peer is established
// and has sent End-of-RIB: what was learned is complete. It is false
// before the first desired configuration with a Global; with no peers it
// is then true.
func (s *Speaker) Synced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.desired.Global == nil || !s.running {
		return false
	}
	for _, p := range s.desired.Peers {
		st := s.peers[p.Address]
		if st == nil || st.state != "Established" || !st.eor {
			return false
		}
	}
	return true
}

// Status returns a snapshot: one entry per desired peer, in address order.
func (s *Speaker) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Running: s.running, Global: s.applied, Exported: s.exported, Learned: len(s.learned), LastError: s.lastError}
	for _, p := range s.desired.Peers {
		ps := PeerStatus{Peer: p, State: "Idle"}
		if w := s.peers[p.Address]; w != nil {
			ps.State, ps.Since, ps.EndOfRIB = w.state, w.since, w.eor
		}
		if !s.running {
			ps.Info = "BGP is not running"
		}
		st.Peers = append(st.Peers, ps)
	}
	slices.SortFunc(st.Peers, func(a, b PeerStatus) int { return a.Address.Compare(b.Address) })
	return st
}

// notify signals Changes without blocking.
func (s *Speaker) notify() {
	select {
	case s.changes <- struct{}{}:
	default:
	}
}

// Run owns the GoBGP server until ctx ends, then stops it (gracefully, see
// Config.DisableGracefulStop) and returns.
func (s *Speaker) Run(ctx context.Context) {
	defer close(s.done)
	srv := server.NewBgpServer(server.LoggerOption(newLogAdapter(s.log)))
	go srv.Serve() // GoBGP's Serve never returns; one per Speaker
	a := &applier{s: s, srv: srv, peers: map[netip.Addr]Peer{}, exports: map[netip.Prefix][]byte{}}
	var retry <-chan time.Time
	backoff := retryMin
	for {
		select {
		case <-ctx.Done():
			a.stop(!s.cfg.DisableGracefulStop)
			return
		case <-s.kick:
		case <-retry:
		}
		s.mu.Lock()
		d := s.desired
		s.mu.Unlock()
		err := a.apply(ctx, d)
		s.mu.Lock()
		s.lastError = ""
		if err != nil {
			s.lastError = err.Error()
		}
		s.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("BGP configuration not fully applied; will retry", "err", err, "retryIn", backoff)
			retry, backoff = time.After(backoff), min(2*backoff, retryMax)
			continue
		}
		retry, backoff = nil, retryMin
	}
}
