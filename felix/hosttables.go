package felix

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/felix/rules"
)

// Host endpoints: with Config.Policy, this node's HostEndpoints are
// rendered by felix/rules into the filter table (normal and applyOnForward
// policy, failsafe ports) and into the raw (doNotTrack) and mangle
// (preDNAT) tables, which this file programs with the same machinery as
// the filter table, in the same apply: IP sets first, then filter, raw
// and mangle, then stale IP sets removed. The raw and mangle tables are
// not touched until a state first has rules there (a host endpoint).

// HostEndpointConfig is the host endpoint protection settings: the
// failsafe ports (nil: Calico's defaults; empty: none).
type HostEndpointConfig = rules.HostEndpointConfig

// hostTables are the raw and mangle tables of one IP version.
type hostTables struct{ raw, mangle *iptables.Table }

func cloneTable(t rules.Table) rules.Table {
	cp := rules.Table{Inserts: maps.Clone(t.Inserts)}
	for _, c := range t.Chains {
		cp.Chains = append(cp.Chains, iptables.Chain{Name: c.Name, Rules: slices.Clone(c.Rules)})
	}
	for chain, rs := range cp.Inserts {
		cp.Inserts[chain] = slices.Clone(rs)
	}
	return cp
}

// setHostTables hands a state's raw and mangle tables to their Tables,
// making them at the first state that has any rules.
func (k *kernelState) setHostTables(v int, st *FilterState) error {
	ht := k.host[v]
	if ht == nil {
		if len(st.Raw.Chains) == 0 && len(st.Mangle.Chains) == 0 {
			return nil
		}
		ht = &hostTables{raw: k.newTable("raw", v), mangle: k.newTable("mangle", v)}
		k.host[v] = ht
	}
	return errors.Join(ht.raw.Replace(st.Raw.Chains, st.Raw.Inserts), ht.mangle.Replace(st.Mangle.Chains, st.Mangle.Inserts))
}

func (k *kernelState) newTable(name string, v int) *iptables.Table {
	return iptables.NewTable(iptables.TableConfig{Name: name, IPVersion: v, Backend: k.backend, Runner: k.runner, Logger: k.log})
}

// applyHostTables programs the raw and mangle tables of IP version v, if
// made: a full resync reads them back, otherwise the delta is written.
func (k *kernelState) applyHostTables(ctx context.Context, v int, full bool) error {
	ht := k.host[v]
	if ht == nil {
		return nil
	}
	var errs []error
	for _, t := range []*iptables.Table{ht.raw, ht.mangle} {
		apply := t.ApplyIncremental
		if full {
			apply = t.Apply
		}
		if _, err := apply(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("IPv%d host endpoint tables: %w", v, err)
	}
	return nil
}
