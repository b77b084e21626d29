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
// A Manager programs one IP version with the same machinery as the rest
// of felix: IP sets through felix/ipsets (one ipsets.Manager per set, so it
// owns exactly that set and never touches felix's policy sets), rules
// through a felix/iptables Table of the nat table (every chain starting
// "cali-" in the nat table is ours). It has no goroutine: felix's
// Dataplane loop, the one owner of the kernel, calls Apply with the pools
// given to Dataplane.SetNATPools, at every full resync and whenever they
// change. Each Apply reads the kernel back, fills the sets before writing
// the rule that uses them, and repairs what others changed; both sets
// always exist (possibly empty) once applied. Rules and sets stay when the
// daemon stops: running workloads keep working while it restarts.
package nat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/felix/ipsets"
	"github.com/calico-docker/calico-libnetwork/felix/iptables"
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

// Manager programs natOutgoing of one IP version. It is not safe for
// concurrent use: its owner calls Apply from one goroutine.
type Manager struct {
	version   int
	masq, all string
	masqSet   *ipsets.Manager
	allSet    *ipsets.Manager
	table     *iptables.Table
}

// New returns the Manager of IP version v, running ipset and iptables
// through runner (in the right namespace) with the given backend.
func New(v int, backend iptables.Backend, runner iptables.Runner, log *slog.Logger) *Manager {
	masq, all := SetNames(v)
	m := &Manager{version: v, masq: masq, all: all,
		masqSet: ipsets.New(ipsets.Config{IPVersion: v, Prefix: masq, Runner: runner, Logger: log}),
		allSet:  ipsets.New(ipsets.Config{IPVersion: v, Prefix: all, Runner: runner, Logger: log}),
		table:   iptables.NewTable(iptables.TableConfig{Name: "nat", IPVersion: v, Backend: backend, Runner: runner, Logger: log}),
	}
	chains, inserts := Chains(v)
	_ = m.table.Replace(chains, inserts)
	return m
}

// Chains returns the nat-table chains of IP version v and the rules kept at
// the top of POSTROUTING (the nftables dataplane programs the same ones).
func Chains(v int) ([]iptables.Chain, map[string][]iptables.Rule) {
	masq, all := SetNames(v)
	rule := iptables.Rule{
		Match:  fmt.Sprintf("-m set --match-set %s src -m set ! --match-set %s dst", masq, all),
		Action: "MASQUERADE",
	}
	return []iptables.Chain{
		{Name: ChainPostrouting, Rules: []iptables.Rule{{Action: ChainNATOutgoing}}},
		{Name: ChainNATOutgoing, Rules: []iptables.Rule{rule}},
	}, map[string][]iptables.Rule{"POSTROUTING": {{Action: ChainPostrouting}}}
}

// Members returns the masquerade and all-pools set members of IP version v.
func Members(v int, pools []Pool) (masq, all []netip.Prefix) {
	for _, p := range pools {
		if !p.CIDR.IsValid() || p.CIDR.Addr().Is4() != (v == 4) {
			continue
		}
		all = append(all, p.CIDR)
		if p.NATOutgoing {
			masq = append(masq, p.CIDR)
		}
	}
	return masq, all
}

// Apply fills the sets from pools (those of the Manager's IP version),
// then (re)writes the rules; every call reads the kernel back.
func (m *Manager) Apply(ctx context.Context, pools []Pool) error {
	masq, all := Members(m.version, pools)
	m.masqSet.SetDesired(map[string][]netip.Prefix{m.masq: masq})
	m.allSet.SetDesired(map[string][]netip.Prefix{m.all: all})
	if err := errors.Join(m.masqSet.ApplyUpdates(ctx), m.allSet.ApplyUpdates(ctx)); err != nil {
		return fmt.Errorf("natOutgoing IP sets: %w", err) // the rule must not name a set that is not there
	}
	if _, err := m.table.Apply(ctx); err != nil {
		return fmt.Errorf("natOutgoing rules: %w", err)
	}
	return nil
}
