package felix

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/calico-docker/calico-libnetwork/felix/ipsets"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/nat"
	"github.com/calico-docker/calico-libnetwork/felix/nft"
	"github.com/calico-docker/calico-libnetwork/felix/nftrules"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Dataplanes (Config.Dataplane).
const (
	DataplaneIptables = "iptables"
	DataplaneNftables = "nftables"
)

// nftState is the nftables dataplane of the loop goroutine: filter state
// and natOutgoing become our nftables tables (felix/nftrules, felix/nft),
// programmed in one transaction per apply. It replaces the iptables
// tables, the IP set managers and felix/nat's managers, which stay unmade
// in this mode.
type nftState struct {
	drv      *nft.Driver
	versions []int
	backend  iptables.Backend // where Docker's rules are: nft, or legacy
	// legacy holds our accepts in Docker's legacy FORWARD chain (and
	// removes the iptables dataplane's legacy leftovers), legacy only.
	legacy     []*iptables.Table
	applied    map[int]*FilterState
	natApplied []nat.Pool
	natOn      bool
	// tables are the last desired tables and built the filter states they
	// were built from (with natOn and natPools): a state rendered right
	// after one patches its table in place (Table.ApplyDelta).
	tables   map[int]*nftrules.Table
	built    map[int]*FilterState
	builtNat []nat.Pool
	builtOn  bool
	failed   bool
	cleaned  bool // the iptables dataplane's leftovers are gone
	// opts lay the tables out: the to-workload shards on the egress hook
	// where the kernel has it (openNft's probe).
	opts nftrules.Options
}

func nftMode(cfg Config) bool { return cfg.Dataplane == DataplaneNftables }

func checkDataplane(cfg Config) error {
	switch cfg.Dataplane {
	case "", DataplaneIptables, DataplaneNftables:
		return nil
	}
	return fmt.Errorf("felix: Dataplane %q: want %q or %q", cfg.Dataplane, DataplaneIptables, DataplaneNftables)
}

// newNftDriver opens an nftables driver in the namespace.
func (k *kernelState) newNftDriver() (*nft.Driver, error) {
	fd := -1
	if h := k.ns.Handle(); h != nil {
		fd = int(*h)
	}
	return nft.New(fd, k.log)
}

// openNft opens the nftables driver in the namespace and finds where
// Docker's iptables rules are without running iptables: iptables-nft's
// FORWARD chain over netlink, else the legacy tables in /proc.
func (k *kernelState) openNft(versions []int) error {
	drv, err := k.newNftDriver()
	if err != nil {
		return err
	}
	if err := drv.SelectorSets(); err != nil {
		_ = drv.Close()
		return fmt.Errorf("nftables: %w; the iptables dataplane (dataplane: iptables) needs no such set", err)
	}
	s := &nftState{drv: drv, versions: versions, backend: k.cfg.IptablesBackend, applied: map[int]*FilterState{},
		tables: map[int]*nftrules.Table{}, built: map[int]*FilterState{}}
	if !k.cfg.NftablesForwardHook && cmp.Or(k.cfg.InterfacePrefix, rules.IfacePrefix) == rules.IfacePrefix {
		egress, err := drv.EgressHooks()
		if err != nil {
			_ = drv.Close()
			return fmt.Errorf("nftables: probe the egress hook: %w", err)
		}
		s.opts.Egress = egress
	}
	k.log.Info("nftables: workloads' ingress policy", "hook", s.hook())
	if s.backend == "" {
		s.backend = iptables.BackendNFT
		if !drv.HasDockerForward(4) && slices.Contains(k.legacyTables(4), "filter") {
			s.backend = iptables.BackendLegacy
		}
	}
	if s.backend == iptables.BackendLegacy {
		base := BaseFilterState(k.cfg.InterfacePrefix)
		for _, v := range versions {
			names := []string{"filter", "nat"}
			for _, name := range k.legacyTables(v) { // host endpoints' leftovers, where the tables exist
				if name == "raw" || name == "mangle" {
					names = append(names, name)
				}
			}
			for _, name := range names {
				t := iptables.NewTable(iptables.TableConfig{Name: name, IPVersion: v, Backend: s.backend, Runner: k.runner, Logger: k.log})
				if name == "filter" {
					_ = t.Replace(base.Chains, base.Inserts)
				}
				s.legacy = append(s.legacy, t)
			}
		}
	}
	k.backend, k.nft = s.backend, s
	return nil
}

// hook is where the tables run workloads' ingress policy (Status.NftablesHook).
func (s *nftState) hook() string {
	if s.opts.Egress {
		return HookEgress
	}
	return HookForward
}

// legacyTables lists the namespace's legacy iptables tables of IP
// version v (Docker's rules would be in filter).
func (k *kernelState) legacyTables(v int) []string {
	file := "/proc/thread-self/net/ip_tables_names"
	if v == 6 {
		file = "/proc/thread-self/net/ip6_tables_names"
	}
	var names []byte
	_ = k.ns.Do(func() error {
		var err error
		names, err = os.ReadFile(file)
		return err
	})
	return strings.Fields(string(names))
}

// syncNft programs the filter states and natOutgoing into our tables when
// they changed, at every full resync and after a failure. The first full
// one also removes what the iptables dataplane left. beside is called
// when the endpoints' work can run beside the rest (nft.Driver.ApplyNotify).
func (k *kernelState) syncNft(ctx context.Context, snap snapshot, full bool, beside func()) error {
	s := k.nft
	natChanged := snap.natPrimed && (!s.natOn || !slices.Equal(s.natApplied, snap.natPools))
	dirty := full || s.failed || natChanged
	for _, v := range s.versions {
		dirty = dirty || snap.filters[v] != s.applied[v]
	}
	if !dirty {
		return nil
	}
	var errs []error
	if full || s.failed {
		errs = append(errs, k.syncLegacyAccepts(ctx))
	}
	if !s.cleaned && (full || s.failed) {
		n, err := s.drv.RemoveIptablesLeftovers()
		if n > 0 {
			k.log.Info("Removed the iptables dataplane's chains and rules", "count", n)
		}
		errs = append(errs, err)
	}
	desired, err := s.desired(snap)
	if err == nil {
		// Docker's FORWARD accepts are read back and repaired with the rest at
		// a full resync; a change between them does not touch Docker's chain.
		repair := full || s.failed
		err = s.drv.ApplyNotify(desired, repair, repair && s.backend == iptables.BackendNFT, beside)
	}
	s.failed = err != nil
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, v := range s.versions {
		s.applied[v] = snap.filters[v]
	}
	s.natApplied, s.natOn = snap.natPools, snap.natPrimed
	if !s.cleaned && errors.Join(errs...) == nil {
		err := k.destroyOurIPSets()
		s.cleaned = err == nil
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// desired returns each family's table for the snapshot: the last one
// patched with a policy render's delta when it follows the state that
// table was built from, else built from scratch.
func (s *nftState) desired(snap snapshot) (map[int]*nftrules.Table, error) {
	out := map[int]*nftrules.Table{}
	natSame := snap.natPrimed == s.builtOn && slices.Equal(snap.natPools, s.builtNat)
	for _, v := range s.versions {
		st := snap.filters[v]
		if t, base := s.tables[v], s.built[v]; t != nil && st != nil && natSame && st.follows(base) &&
			maps.EqualFunc(st.Inserts, base.Inserts, slices.Equal) && sameTable(st.Raw, base.Raw) && sameTable(st.Mangle, base.Mangle) {
			t.ApplyDelta(st.Delta, st.Chains, st.IPSets)
			out[v], s.built[v] = t, st
			continue
		}
		t, err := s.build(v, st, snap)
		if err != nil {
			return nil, err
		}
		out[v], s.tables[v], s.built[v] = t, t, st
	}
	s.builtNat, s.builtOn = snap.natPools, snap.natPrimed
	return out, nil
}

// sameTable reports whether two renders' raw or mangle tables are equal
// (host endpoints' chains, rendered in full every time: few).
func sameTable(a, b rules.Table) bool {
	return slices.EqualFunc(a.Chains, b.Chains, func(x, y iptables.Chain) bool {
		return x.Name == y.Name && slices.Equal(x.Rules, y.Rules)
	}) && maps.EqualFunc(a.Inserts, b.Inserts, slices.Equal)
}

// build builds a family's table from scratch.
func (s *nftState) build(v int, st *FilterState, snap snapshot) (*nftrules.Table, error) {
	var inputs []nftrules.Input
	if st != nil {
		// Host endpoints' doNotTrack and preDNAT policy: raw and mangle
		// base chains of the same table (empty without them).
		inputs = append(inputs, nftrules.PolicyInputs(v, rules.Result{Chains: st.Chains, Inserts: st.Inserts,
			IPSets: st.IPSets, Raw: st.Raw, Mangle: st.Mangle})...)
	}
	if snap.natPrimed {
		chains, inserts := nat.Chains(v)
		masqName, allName := nat.SetNames(v)
		masq, all := nat.Members(v, snap.natPools)
		inputs = append(inputs, nftrules.Input{IPVersion: v, Chains: chains, Inserts: inserts,
			IPSets: map[string][]netip.Prefix{masqName: masq, allName: all}})
	}
	return nftrules.BuildWith(s.opts, v, inputs...)
}

// syncLegacyAccepts keeps our accepts in Docker's legacy FORWARD chains.
func (k *kernelState) syncLegacyAccepts(ctx context.Context) error {
	var errs []error
	for _, t := range k.nft.legacy {
		tctx, cancel := context.WithTimeout(ctx, iptablesTimeout)
		_, err := t.Apply(tctx)
		cancel()
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// destroyOurIPSets destroys the iptables dataplane's IP sets (names
// starting "cali") over netlink, once no rule uses them.
func (k *kernelState) destroyOurIPSets() error {
	var names []string
	err := k.ns.Do(func() (err error) { names, err = ipsets.Names(); return err })
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPROTONOSUPPORT) {
		return nil // no ip_set support: no sets of ours either
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if strings.HasPrefix(name, "cali") {
			if err := k.nl.IpsetDestroy(name); err != nil {
				errs = append(errs, fmt.Errorf("destroy IP set %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeNftDataplane removes what the nftables dataplane left (a switch
// back to iptables): our tables and Docker accepts. Once per run.
func (k *kernelState) removeNftDataplane() error {
	if k.nft != nil || k.nftGone {
		return nil
	}
	drv, err := k.newNftDriver()
	if err != nil {
		return err
	}
	defer drv.Close()
	if err := drv.RemoveAll(); err != nil {
		return err
	}
	k.nftGone = true
	return nil
}
