package iptables

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
)

// DefaultChainPrefix starts the name of every chain we own.
const DefaultChainPrefix = "cali-"

// TableConfig says which kernel table a Table programs and how.
type TableConfig struct {
	Name        string  // kernel table: "filter", "nat", "mangle", "raw"
	IPVersion   int     // 4 or 6
	Backend     Backend // which iptables flavour to use
	Runner      Runner  // runs iptables-save / iptables-restore (in the right netns)
	ChainPrefix string  // chains we own; default DefaultChainPrefix
	Logger      *slog.Logger
	// AnyOrder names chains of ours whose rules but the last may be held
	// in any order (each matches packets no other one does, or is the
	// same as it): such a chain keeps the kernel's order of the rules it
	// keeps and gets its new rules at the top (keepOrder).
	AnyOrder []string
}

// Table is the desired state of our part of one iptables table: chains we
// own entirely and rules we insert at the top of other chains (built-in
// chains such as FORWARD). Apply reads the kernel back, diffs by rule hash
// and writes the difference with one iptables-restore --noflush;
// ApplyIncremental diffs against the result of the last successful apply.
//
// Rules and chains that are not ours (no CommentPrefix tag, no ChainPrefix)
// are never touched. Chains with our prefix that are not desired are removed.
// A Table is not safe for concurrent use: the dataplane goroutine owns it.
type Table struct {
	cfg     TableConfig
	log     *slog.Logger
	chains  map[string][]Rule // our chains, by name
	inserts map[string][]Rule // other chain -> rules kept at its top, in order
	// hashes of the rules of every chain in chains and inserts (the two
	// never share a name), kept while a chain's rules do not change.
	hashes map[string][]string
	// known is what the kernel held after our last successful Apply (our
	// rules only), for ApplyIncremental; nil when unknown.
	known *savedTable
	// dirty names the chains set or removed since known was recorded: an
	// incremental apply compares only those (and the inserts).
	dirty map[string]bool
}

// NewTable returns a Table with nothing desired: applying it removes every
// chain and rule of ours from the kernel table.
func NewTable(cfg TableConfig) *Table {
	if cfg.ChainPrefix == "" {
		cfg.ChainPrefix = DefaultChainPrefix
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("table", cfg.Name, "ipVersion", cfg.IPVersion)
	return &Table{cfg: cfg, log: log, chains: map[string][]Rule{}, inserts: map[string][]Rule{}, hashes: map[string][]string{},
		dirty: map[string]bool{}}
}

// SetChain sets the desired content of one of our chains. Its name must
// start with the table's chain prefix.
func (t *Table) SetChain(c Chain) error { return t.setChain(c, t) }

// setChain sets a chain, reusing prev's hashes when prev has the same rules.
func (t *Table) setChain(c Chain, prev *Table) error {
	if !strings.HasPrefix(c.Name, t.cfg.ChainPrefix) {
		return fmt.Errorf("chain %s: name must start with %q", c.Name, t.cfg.ChainPrefix)
	}
	rules := c.Rules
	if slices.Contains(t.cfg.AnyOrder, c.Name) {
		rules = keepOrder(prev.chains[c.Name], rules)
	}
	if old, ok := prev.chains[c.Name]; ok && slices.Equal(old, rules) {
		t.chains[c.Name], t.hashes[c.Name] = old, prev.hashes[c.Name]
		return nil
	}
	rules = slices.Clone(rules)
	t.chains[c.Name], t.hashes[c.Name] = rules, ruleHashes(c.Name, rules)
	prev.dirty[c.Name] = true
	return nil
}

// Replace sets the whole desired state at once: exactly these chains of ours
// and these inserts (other chain -> rules at its top). On error nothing
// changes.
func (t *Table) Replace(chains []Chain, inserts map[string][]Rule) error {
	next := &Table{cfg: t.cfg, chains: map[string][]Rule{}, inserts: map[string][]Rule{}, hashes: map[string][]string{}}
	for _, c := range chains {
		if err := next.setChain(c, t); err != nil {
			return err
		}
	}
	for chain, rules := range inserts {
		if err := next.setInserts(chain, rules, t); err != nil {
			return err
		}
	}
	for name := range t.chains {
		if _, ok := next.chains[name]; !ok {
			t.dirty[name] = true
		}
	}
	t.chains, t.inserts, t.hashes = next.chains, next.inserts, next.hashes
	return nil
}

// Update changes the desired state by a delta: these chains set (added or
// rewritten), those removed, and the inserts replaced. On error nothing
// changes.
func (t *Table) Update(changed []Chain, removed []string, inserts map[string][]Rule) error {
	for _, c := range changed {
		if !strings.HasPrefix(c.Name, t.cfg.ChainPrefix) {
			return fmt.Errorf("chain %s: name must start with %q", c.Name, t.cfg.ChainPrefix)
		}
	}
	for chain := range inserts {
		if strings.HasPrefix(chain, t.cfg.ChainPrefix) {
			return fmt.Errorf("inserts into %s: use SetChain for our own chains", chain)
		}
	}
	for _, c := range changed {
		_ = t.setChain(c, t)
	}
	for _, name := range removed {
		t.RemoveChain(name)
	}
	if !maps.EqualFunc(inserts, t.inserts, slices.Equal) {
		next := &Table{inserts: map[string][]Rule{}, hashes: t.hashes}
		for chain, rules := range inserts {
			_ = next.setInserts(chain, rules, t)
		}
		for chain := range t.inserts {
			if _, ok := next.inserts[chain]; !ok {
				delete(t.hashes, chain)
			}
		}
		t.inserts = next.inserts
	}
	return nil
}

// RemoveChain stops desiring one of our chains; Apply deletes it.
func (t *Table) RemoveChain(name string) {
	delete(t.chains, name)
	delete(t.hashes, name)
	t.dirty[name] = true
}

// SetInserts sets the rules we keep, in this order, at the top of a chain we
// do not own (typically a built-in chain such as FORWARD). An empty list
// removes our rules from that chain.
func (t *Table) SetInserts(chain string, rules []Rule) error { return t.setInserts(chain, rules, t) }

func (t *Table) setInserts(chain string, rules []Rule, prev *Table) error {
	if strings.HasPrefix(chain, t.cfg.ChainPrefix) {
		return fmt.Errorf("inserts into %s: use SetChain for our own chains", chain)
	}
	if len(rules) == 0 {
		delete(t.inserts, chain)
		delete(t.hashes, chain)
		return nil
	}
	if old, ok := prev.inserts[chain]; ok && slices.Equal(old, rules) {
		t.inserts[chain], t.hashes[chain] = old, prev.hashes[chain]
		return nil
	}
	rules = slices.Clone(rules)
	t.inserts[chain], t.hashes[chain] = rules, ruleHashes(chain, rules)
	return nil
}

// Apply brings the kernel table in line with the desired state and returns
// the number of restore lines written (0: it already was). It reads the
// kernel table back first, so it also repairs changes made by others.
func (t *Table) Apply(ctx context.Context) (int, error) {
	t.known = nil
	return t.ApplyIncremental(ctx)
}

// ApplyIncremental is Apply without the read-back when the previous Apply
// succeeded: it diffs against what that Apply left in the kernel. Reading
// back a large table costs far more than writing a small delta, so callers
// use it for changes of the desired state and Apply for periodic resyncs
// (which repair what others changed meanwhile). Any failure makes the next
// call read back.
func (t *Table) ApplyIncremental(ctx context.Context) (int, error) {
	actual, only := t.known, t.dirty // only the dirty chains can differ from known
	t.known = nil
	if actual == nil {
		var err error
		if actual, err = t.read(ctx); err != nil {
			return 0, err
		}
		only = nil
	}
	lines := t.plan(actual, only)
	if len(lines) == 0 {
		t.known, t.dirty = actual, map[string]bool{}
		return 0, nil
	}
	input := "*" + t.cfg.Name + "\n" + strings.Join(lines, "\n") + "\nCOMMIT\n"
	args := []string{"--noflush"}
	if t.cfg.Backend == BackendLegacy {
		args = append(args, "--wait", "10") // legacy serialises on the xtables lock
	}
	restore := t.cfg.Backend.binary(t.cfg.IPVersion, "restore")
	if _, err := t.cfg.Runner.Run(ctx, []byte(input), restore, args...); err != nil {
		return 0, fmt.Errorf("write iptables table %s (IPv%d): %w; input was:\n%s",
			t.cfg.Name, t.cfg.IPVersion, err, input)
	}
	if only != nil {
		t.known = t.patchExpected(actual, only)
	} else {
		t.known = t.expected()
	}
	t.dirty = map[string]bool{}
	t.log.Info("Programmed iptables", "lines", len(lines))
	return len(lines), nil
}

func (t *Table) read(ctx context.Context) (*savedTable, error) {
	save := t.cfg.Backend.binary(t.cfg.IPVersion, "save")
	out, err := t.cfg.Runner.Run(ctx, nil, save, "-t", t.cfg.Name)
	if err != nil {
		return nil, fmt.Errorf("read iptables table %s (IPv%d): %w", t.cfg.Name, t.cfg.IPVersion, err)
	}
	actual, err := parseSave(t.cfg.Name, out)
	if err != nil {
		return nil, fmt.Errorf("read iptables table %s (IPv%d): %w", t.cfg.Name, t.cfg.IPVersion, err)
	}
	return actual, nil
}

// expected is the kernel table, as far as plan looks at it, once the
// desired state is programmed: our chains with our rules, and the chains we
// insert into with our rules at the top (other software's rules are left
// out; plan never touches them).
func (t *Table) expected() *savedTable {
	st := &savedTable{chains: make(map[string][]savedRule, len(t.chains)+len(t.inserts))}
	for name := range t.chains {
		st.chains[name] = t.savedChain(name)
	}
	t.expectInserts(st)
	return st
}

// savedChain is one of our chains as expected() holds it.
func (t *Table) savedChain(name string) []savedRule {
	hashes, rules := t.hashes[name], t.chains[name]
	saved := make([]savedRule, len(hashes))
	for i, h := range hashes {
		saved[i] = savedRule{hash: h, src: &rules[i]} // its text, rendered only to delete it
	}
	return saved
}

// patchExpected is expected() computed from the last one (known), given
// that only the chains in dirty changed since.
func (t *Table) patchExpected(known *savedTable, dirty map[string]bool) *savedTable {
	for name := range dirty {
		if _, ok := t.chains[name]; ok {
			known.chains[name] = t.savedChain(name)
		} else {
			delete(known.chains, name)
		}
	}
	for name := range known.chains {
		if !strings.HasPrefix(name, t.cfg.ChainPrefix) {
			delete(known.chains, name) // inserts: recomputed
		}
	}
	t.expectInserts(known)
	return known
}

// expectInserts puts the chains we insert into, with our rules, into st.
func (t *Table) expectInserts(st *savedTable) {
	for name, rules := range t.inserts {
		hashes := t.hashes[name]
		saved := make([]savedRule, len(rules))
		for i, r := range rules { // the text deletes them when they go
			saved[i] = savedRule{line: "-A " + name + " " + renderRule(r, hashes[i]), hash: hashes[i]}
		}
		st.chains[name] = saved
	}
}

// plan returns the restore lines (without the table header and COMMIT) that
// turn actual into the desired state, or nothing when they already agree.
// Order matters: declare (which flushes) chains, delete our stale inserted
// rules, fill chains, insert at the top of other chains, and only then delete
// chains nothing refers to any more.
//
// With only set (actual is what the last apply left), only those of our
// chains are compared.
func (t *Table) plan(actual *savedTable, only map[string]bool) []string {
	var decls, dels, adds, ins, drops []string
	ours, others := slices.Sorted(maps.Keys(t.chains)), slices.Sorted(maps.Keys(actual.chains))
	if only != nil {
		ours, others = nil, nil
		for name := range only {
			if _, ok := t.chains[name]; ok {
				ours = append(ours, name)
			} else if _, ok := actual.chains[name]; ok {
				others = append(others, name)
			}
		}
		for name := range actual.chains {
			if !strings.HasPrefix(name, t.cfg.ChainPrefix) {
				others = append(others, name)
			}
		}
		slices.Sort(ours)
		slices.Sort(others)
	}
	for _, name := range ours {
		want := t.hashes[name]
		got, exists := actual.chains[name]
		if exists && sameHashes(got, want) {
			continue
		}
		if exists {
			if lines, ok := patchChain(name, got, want, t.chains[name]); ok {
				adds = append(adds, lines...)
				continue
			}
		}
		decls = append(decls, ":"+name+" - [0:0]")
		for i, r := range t.chains[name] {
			adds = append(adds, "-A "+name+" "+renderRule(r, want[i]))
		}
	}
	for _, name := range others {
		got := actual.chains[name]
		if strings.HasPrefix(name, t.cfg.ChainPrefix) {
			if _, ok := t.chains[name]; !ok {
				decls = append(decls, ":"+name+" - [0:0]")
				drops = append(drops, "-X "+name)
			}
			continue
		}
		want := t.hashes[name]         // nil for chains we insert nothing into
		if insertsInPlace(got, want) { // also true for chains we insert nothing into
			continue
		}
		for _, r := range got {
			if r.hash != "" {
				dels = append(dels, r.deletion(name))
			}
		}
		ins = append(ins, renderInserts(name, t.inserts[name], want)...)
	}
	for _, name := range slices.Sorted(maps.Keys(t.inserts)) {
		if _, ok := actual.chains[name]; !ok { // chain not there yet (fresh table)
			ins = append(ins, renderInserts(name, t.inserts[name], t.hashes[name])...)
		}
	}
	return slices.Concat(decls, dels, adds, ins, drops)
}

func renderInserts(chain string, rules []Rule, hashes []string) []string {
	lines := make([]string, len(rules))
	for i, r := range rules {
		lines[i] = fmt.Sprintf("-I %s %d %s", chain, i+1, renderRule(r, hashes[i]))
	}
	return lines
}

func sameHashes(got []savedRule, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].hash != want[i] {
			return false
		}
	}
	return true
}

// insertsInPlace reports whether the chain starts with exactly our wanted
// rules and holds no other rule of ours.
func insertsInPlace(got []savedRule, want []string) bool {
	if len(got) < len(want) || !sameHashes(got[:len(want)], want) {
		return false
	}
	return !hasOurs(got[len(want):])
}

func hasOurs(rules []savedRule) bool {
	return slices.ContainsFunc(rules, func(r savedRule) bool { return r.hash != "" })
}
