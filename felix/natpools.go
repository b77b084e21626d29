package felix

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/calico-docker/calico-libnetwork/felix/nat"
)

// SetNATPools replaces the IP pools natOutgoing is programmed from (see
// package felix/nat): the loop fills the pool IP sets and writes the nat
// table's rules at the next apply, and re-reads and repairs them at every
// full resync. Until the first call nothing of the nat table is touched.
// A pool with an invalid CIDR is refused: the error names it and the
// pools in place stay.
func (d *Dataplane) SetNATPools(pools []nat.Pool) error {
	for i, p := range pools {
		if !p.CIDR.IsValid() || p.CIDR != p.CIDR.Masked() {
			return fmt.Errorf("NAT pool %d: CIDR %q is not a network address with a prefix length (like 10.0.0.0/16)", i, p.CIDR)
		}
	}
	pools = slices.Clone(pools)
	d.change(func() { d.natPools, d.natPrimed, d.natDirty = pools, true, true })
	return nil
}

// syncNAT programs natOutgoing in each IP version; the loop goroutine only.
func (k *kernelState) syncNAT(ctx context.Context, pools []nat.Pool) error {
	if k.nat == nil {
		k.nat = map[int]*nat.Manager{}
		for v := range k.filters {
			k.nat[v] = nat.New(v, k.backend, k.runner, k.log)
		}
	}
	var errs []error
	for _, v := range slices.Sorted(maps.Keys(k.nat)) {
		tctx, cancel := context.WithTimeout(ctx, iptablesTimeout)
		errs = append(errs, k.nat[v].Apply(tctx, pools))
		cancel()
	}
	return errors.Join(errs...)
}
