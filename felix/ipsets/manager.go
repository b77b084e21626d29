package ipsets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// DefaultMaxSize is the default maxelem of our sets.
const DefaultMaxSize = 1048576

// maxNameLen is the kernel's limit on set names (IPSET_MAXNAMELEN - 1).
const maxNameLen = 31

// Runner runs a command, feeding it stdin, and returns its standard output.
// felix/ns.NS implements it for a network namespace.
type Runner interface {
	Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)
}

// Config says which sets a Manager owns and how it reaches the kernel.
type Config struct {
	IPVersion int    // 4 or 6
	Prefix    string // names we own start with it; default "cali40" or "cali60"
	Runner    Runner // runs `ipset` (in the right netns)
	Logger    *slog.Logger
	MaxSize   int // maxelem of our sets; default DefaultMaxSize
}

// Manager is the desired state of our IP sets of one family, and the code
// that converges the kernel on it. See the package documentation for the
// calling order and invariants.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	family  string // "inet" or "inet6"
	tmpName string // temporary set used to replace a set atomically
	cfgErr  error  // a bad Config, returned by every apply

	// desired holds each set's members in kernel form, sorted by
	// netip.Prefix.Compare without duplicates (often the very slice
	// SetDesired was given: never modified).
	desired map[string][]netip.Prefix
	held    map[string]bool // desired but not programmable: never destroyed
	invalid error           // what SetDesired had to drop, returned by ApplyUpdates
	// problems are invalid's parts, by set name (delta.go).
	problems map[string]error
	// dirty names the sets whose desired state changed since the last
	// successful update batch (allDirty: every set); an incremental apply
	// plans only those (delta.go).
	dirty    map[string]bool
	allDirty bool
	// known is what the last successful update batch left in the kernel
	// (nil: read it back next time); see ApplyUpdatesIncremental.
	known map[string]*kernelSet
	// input is the member slice each desired set was last given; gens
	// numbers each desired member list (a new number whenever it is
	// rebuilt), lastGen is the last number handed out.
	input   map[string][]netip.Prefix
	gens    map[string]uint64
	lastGen uint64
}

// New returns a Manager with nothing desired: ApplyDeletions removes every
// set of ours.
func New(cfg Config) *Manager {
	m := &Manager{desired: map[string][]netip.Prefix{}, held: map[string]bool{},
		input: map[string][]netip.Prefix{}, gens: map[string]uint64{}, problems: map[string]error{},
		dirty: map[string]bool{}, allDirty: true}
	switch cfg.IPVersion {
	case 0, 4:
		cfg.IPVersion, m.family = 4, "inet"
	case 6:
		m.family = "inet6"
	default:
		m.cfgErr = fmt.Errorf("ipsets: IP version %d: want 4 or 6", cfg.IPVersion)
	}
	if cfg.Prefix == "" {
		cfg.Prefix = fmt.Sprintf("cali%d0", cfg.IPVersion)
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.Runner == nil && m.cfgErr == nil {
		m.cfgErr = errors.New("ipsets: no Runner configured")
	}
	m.tmpName = cfg.Prefix + "-tmp"
	if m.cfgErr == nil && !validName.MatchString(m.tmpName) {
		m.cfgErr = fmt.Errorf("ipsets: prefix %q: want at most %d characters of [A-Za-z0-9_:.-]",
			cfg.Prefix, maxNameLen-len("-tmp"))
	}
	m.cfg = cfg
	m.log = cfg.Logger
	if m.log == nil {
		m.log = slog.Default()
	}
	m.log = m.log.With("ipVersion", cfg.IPVersion)
	return m
}

// validName matches set names we are willing to write into a restore
// batch: no whitespace, quotes or other surprises.
var validName = regexp.MustCompile(`^[A-Za-z0-9_:.-]{1,31}$`)

// owns reports whether a kernel set name is ours.
func (m *Manager) owns(name string) bool { return strings.HasPrefix(name, m.cfg.Prefix) }

// SetDesired replaces the whole desired state: set name -> members. It does
// not touch the kernel. Members are normalised (masked, deduplicated, /0
// split into two /1). A set whose name is not ours or is invalid, a member of
// the wrong family and a set larger than MaxSize are left out, and the next
// ApplyUpdates reports them; an oversized set keeps its current kernel
// content (it is neither updated nor destroyed), so rules never see a
// truncated set.
//
// The member slices must not be modified after the call: a set given the
// very same slice as last time (same array and length) is known unchanged,
// which spares normalizing and diffing large unchanged sets on every apply;
// a slice already in kernel form and sorted by netip.Prefix.Compare (as
// felix/policy's IP set members of single addresses are) is kept, not
// copied.
func (m *Manager) SetDesired(sets map[string][]netip.Prefix) {
	var gone []string
	for name := range m.desired {
		if _, ok := sets[name]; !ok {
			gone = append(gone, name)
		}
	}
	for name := range m.held {
		if _, ok := sets[name]; !ok {
			gone = append(gone, name)
		}
	}
	for name := range m.problems {
		if _, ok := sets[name]; !ok {
			gone = append(gone, name)
		}
	}
	for _, name := range gone {
		m.undesire(name)
	}
	for name, members := range sets {
		m.desire(name, members)
	}
	m.allDirty = true
	m.joinProblems()
}

// sameSlice reports whether a and b are the same slice (not merely equal).
func sameSlice(a, b []netip.Prefix) bool {
	return a != nil && len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func (m *Manager) checkName(name string) error {
	switch {
	case !m.owns(name):
		return fmt.Errorf("ipset %q: name does not start with our prefix %q", name, m.cfg.Prefix)
	case name == m.tmpName:
		return fmt.Errorf("ipset %q: name is reserved for the temporary set", name)
	case !validName.MatchString(name):
		return fmt.Errorf("ipset %q: want at most %d characters of [A-Za-z0-9_:.-]", name, maxNameLen)
	}
	return nil
}

// normalize returns the members in the form the kernel stores them,
// sorted by netip.Prefix.Compare without duplicates, and the members that
// do not belong in a set of our family. Members already in that form are
// returned as they are, without a copy.
func (m *Manager) normalize(members []netip.Prefix) ([]netip.Prefix, []netip.Prefix) {
	if m.canonical(members) {
		return members, nil
	}
	want := make([]netip.Prefix, 0, len(members))
	var bad []netip.Prefix
	for _, p := range members {
		if !p.IsValid() || (m.cfg.IPVersion == 4) != p.Addr().Is4() {
			bad = append(bad, p)
			continue
		}
		p = p.Masked()
		if p.Bits() > 0 {
			want = append(want, p)
			continue
		}
		// hash:net cannot hold a zero-length prefix: store both halves.
		hi := make([]byte, p.Addr().BitLen()/8)
		hi[0] = 0x80
		hiAddr, _ := netip.AddrFromSlice(hi)
		want = append(want, netip.PrefixFrom(p.Addr(), 1), netip.PrefixFrom(hiAddr, 1))
	}
	slices.SortFunc(want, netip.Prefix.Compare)
	return slices.Compact(want), bad
}

// canonical reports whether members are already in kernel form, sorted and
// without duplicates.
func (m *Manager) canonical(members []netip.Prefix) bool {
	for i, p := range members {
		if !p.IsValid() || (m.cfg.IPVersion == 4) != p.Addr().Is4() || p.Bits() == 0 || p != p.Masked() ||
			(i > 0 && compareMasked(members[i-1], p) >= 0) {
			return false
		}
	}
	return true
}

// ApplyUpdates creates missing sets, corrects the members of existing ones
// and replaces sets of ours with the wrong parameters, in one
// `ipset restore` batch. Call it before applying iptables. It never
// destroys a set that is no longer desired: that is ApplyDeletions' job.
func (m *Manager) ApplyUpdates(ctx context.Context) error {
	if m.cfgErr != nil {
		return m.cfgErr
	}
	m.known = nil
	actual, err := m.read(ctx, "list")
	if err != nil {
		return err
	}
	return m.applyUpdates(ctx, actual, false)
}

// applyUpdates converges the kernel, whose state is actual, on the desired
// sets (incremental: actual is what the last batch left, and only the
// dirty sets can differ), and remembers the result for
// ApplyUpdatesIncremental.
func (m *Manager) applyUpdates(ctx context.Context, actual map[string]*kernelSet, incremental bool) error {
	names := m.planNames(incremental) // delta.go
	p := m.planUpdates(actual, names)
	var writeErr error
	if len(p.lines) > 0 {
		if writeErr = m.restore(ctx, p.lines); writeErr == nil {
			m.log.Info("Programmed IP sets", "created", p.created, "updated", p.updated,
				"replaced", p.replaced, "lines", len(p.lines))
		}
	}
	m.remember(actual, names, p, writeErr)
	return errors.Join(append([]error{m.invalid, writeErr}, p.errs...)...)
}

// ApplyDeletions destroys the sets of ours that are not desired, in one
// `ipset restore` batch. Call it after iptables no longer references them.
// A stale set that something still references is left alone (and logged):
// the kernel would refuse to destroy it; a later call retries.
func (m *Manager) ApplyDeletions(ctx context.Context) error {
	if m.cfgErr != nil {
		return m.cfgErr
	}
	actual, err := m.read(ctx, "list", "-t")
	if err != nil {
		return err
	}
	lines, busy := m.planDeletions(actual)
	for _, name := range busy {
		m.log.Warn("Stale IP set still referenced; not destroying it yet", "set", name,
			"references", actual[name].refs)
	}
	if len(lines) == 0 {
		return nil
	}
	err = m.restore(ctx, lines)
	m.forgetDestroyed(lines, err)
	if err != nil {
		return err
	}
	m.log.Info("Destroyed stale IP sets", "sets", len(lines))
	return nil
}

// read lists the kernel's sets, with members of ours unless args has -t.
func (m *Manager) read(ctx context.Context, args ...string) (map[string]*kernelSet, error) {
	out, err := m.cfg.Runner.Run(ctx, nil, "ipset", args...)
	if err != nil {
		return nil, fmt.Errorf("read IPv%d ipsets: %w", m.cfg.IPVersion, err)
	}
	sets, err := parseList(out, m.owns)
	if err != nil {
		return nil, fmt.Errorf("read IPv%d ipsets: %w", m.cfg.IPVersion, err)
	}
	return sets, nil
}

// restore writes one batch. -exist makes creating an identical existing
// set, adding a present member and deleting an absent one no-ops, so races
// with other writers between our read and our write do not fail the batch.
func (m *Manager) restore(ctx context.Context, lines []string) error {
	input := []byte(strings.Join(lines, "\n") + "\n")
	if _, err := m.cfg.Runner.Run(ctx, input, "ipset", "restore", "-exist"); err != nil {
		return fmt.Errorf("write IPv%d ipsets (%d lines%s): %w",
			m.cfg.IPVersion, len(lines), failedLine(err, lines), err)
	}
	return nil
}
