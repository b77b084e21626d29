// Package nat programs natOutgoing: traffic from a pool with
// natOutgoing: true to a destination outside every pool leaves the host
// masqueraded (with the host's address); traffic between pools never is.
//
// As in Calico, two IP sets hold the pools — cali40masq-ipam-pools the
// natOutgoing pools, cali40all-ipam-pools all pools (cali60... for IPv6) —
// and the nat table has
//
//	POSTROUTING    -j cali-POSTROUTING            (kept first)
//	cali-POSTROUTING -j cali-nat-outgoing
//	cali-nat-outgoing -m set --match-set cali40masq-ipam-pools src
//	                  -m set ! --match-set cali40all-ipam-pools dst -j MASQUERADE
//
// A Manager converges the kernel on the pools given to SetPools from one
// goroutine (Run), with the same machinery as the rest of felix: IP sets
// through felix/ipsets (one Manager per set, so it owns exactly that set
// and never touches felix's policy sets), rules through a felix/iptables
// Table of the nat table (every chain starting "cali-" in the nat table is
// ours). Sets are filled before the rule that uses them is written; both
// sets always exist (possibly empty) while the Manager runs. The state is
// re-read and repaired every ResyncInterval and after any failure. Rules
// and sets stay when Run returns: running workloads keep working while
// the daemon restarts.
package nat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/calico-docker/calico-libnetwork/felix/ipsets"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/ns"
)

// Chain and set names, as Calico's.
const (
	ChainPostrouting = "cali-POSTROUTING"
	ChainNATOutgoing = "cali-nat-outgoing"
)

// SetNames returns the masquerade and all-pools set names of a family.
func SetNames(ipVersion int) (masq, all string) {
	return fmt.Sprintf("cali%d0masq-ipam-pools", ipVersion), fmt.Sprintf("cali%d0all-ipam-pools", ipVersion)
}

// Pool is what natOutgoing needs of an IP pool.
type Pool struct {
	CIDR        netip.Prefix
	NATOutgoing bool
}

// Config configures a Manager. The zero value is usable (IPv4, the
// process's namespace, backend detected).
type Config struct {
	NetNS          string           // namespace path; empty: the process's own
	Backend        iptables.Backend // empty: detect
	EnableIPv6     bool
	ResyncInterval time.Duration // default 60s
	Logger         *slog.Logger
}

// Manager programs natOutgoing. SetPools may be called from any goroutine.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	kick chan struct{}
	done chan struct{}

	mu      sync.Mutex
	pools   []Pool
	gen     uint64
	inSync  bool
	lastErr error
}

// New returns a Manager; nothing is programmed until Run.
func New(cfg Config) *Manager {
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = 60 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{cfg: cfg, log: cfg.Logger.With("component", "nat"), kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// SetPools replaces the pools; Run applies them soon.
func (m *Manager) SetPools(pools []Pool) {
	pools = slices.Clone(pools)
	m.mu.Lock()
	m.pools, m.inSync = pools, false
	m.gen++
	m.mu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// InSync reports whether the last apply succeeded and nothing changed since.
func (m *Manager) InSync() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inSync
}

// Err returns the last apply's error.
func (m *Manager) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastErr
}

// Done is closed when Run has returned.
func (m *Manager) Done() <-chan struct{} { return m.done }

// Run programs the kernel until ctx ends. It fails only if the namespace
// cannot be opened.
func (m *Manager) Run(ctx context.Context) error {
	defer close(m.done)
	n, err := ns.Open(m.cfg.NetNS)
	if err != nil {
		return err
	}
	defer n.Close()
	backend := m.cfg.Backend
	if backend == "" {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		backend = iptables.DetectBackend(dctx, n)
		cancel()
	}
	fams := []*family{newFamily(4, backend, n, m.log)}
	if m.cfg.EnableIPv6 {
		fams = append(fams, newFamily(6, backend, n, m.log))
	}
	resync := time.NewTicker(m.cfg.ResyncInterval)
	defer resync.Stop()
	var retry <-chan time.Time
	backoff := 100 * time.Millisecond
	for {
		if err := m.applyOnce(ctx, fams); err != nil && ctx.Err() == nil {
			m.log.Warn("natOutgoing not programmed; will retry", "err", err, "retryIn", backoff)
			retry, backoff = time.After(backoff), min(2*backoff, 30*time.Second)
		} else {
			retry, backoff = nil, 100*time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.kick:
		case <-resync.C:
		case <-retry:
		}
	}
}

func (m *Manager) applyOnce(ctx context.Context, fams []*family) error {
	m.mu.Lock()
	pools, gen := m.pools, m.gen
	m.mu.Unlock()
	var errs []error
	for _, f := range fams {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		errs = append(errs, f.apply(actx, pools))
		cancel()
	}
	err := errors.Join(errs...)
	m.mu.Lock()
	m.lastErr, m.inSync = err, err == nil && gen == m.gen
	m.mu.Unlock()
	return err
}

// family is the kernel state of one IP version.
type family struct {
	version   int
	masq, all string
	masqSet   *ipsets.Manager
	allSet    *ipsets.Manager
	table     *iptables.Table
}

func newFamily(v int, backend iptables.Backend, runner *ns.NS, log *slog.Logger) *family {
	masq, all := SetNames(v)
	f := &family{version: v, masq: masq, all: all,
		masqSet: ipsets.New(ipsets.Config{IPVersion: v, Prefix: masq, Runner: runner, Logger: log}),
		allSet:  ipsets.New(ipsets.Config{IPVersion: v, Prefix: all, Runner: runner, Logger: log}),
		table:   iptables.NewTable(iptables.TableConfig{Name: "nat", IPVersion: v, Backend: backend, Runner: runner, Logger: log}),
	}
	rule := iptables.Rule{
		Match:  fmt.Sprintf("-m set --match-set %s src -m set ! --match-set %s dst", masq, all),
		Action: "MASQUERADE",
	}
	_ = f.table.Replace([]iptables.Chain{
		{Name: ChainPostrouting, Rules: []iptables.Rule{{Action: ChainNATOutgoing}}},
		{Name: ChainNATOutgoing, Rules: []iptables.Rule{rule}},
	}, map[string][]iptables.Rule{"POSTROUTING": {{Action: ChainPostrouting}}})
	return f
}

// apply fills the sets, then (re)writes the rules; every call reads the
// kernel back, so it also repairs what others changed.
func (f *family) apply(ctx context.Context, pools []Pool) error {
	var masq, all []netip.Prefix
	for _, p := range pools {
		if !p.CIDR.IsValid() || p.CIDR.Addr().Is4() != (f.version == 4) {
			continue
		}
		all = append(all, p.CIDR)
		if p.NATOutgoing {
			masq = append(masq, p.CIDR)
		}
	}
	f.masqSet.SetDesired(map[string][]netip.Prefix{f.masq: masq})
	f.allSet.SetDesired(map[string][]netip.Prefix{f.all: all})
	if err := errors.Join(f.masqSet.ApplyUpdates(ctx), f.allSet.ApplyUpdates(ctx)); err != nil {
		return err // the rule must not name a set that is not there
	}
	_, err := f.table.Apply(ctx)
	return err
}
