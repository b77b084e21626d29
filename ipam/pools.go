package ipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/selector"
)

// Default pool created by EnsureDefaultPool.
const (
	DefaultPoolCIDR   = "192.168.0.0/16"
	DefaultPoolNameV4 = "default-ipv4-ippool"
	DefaultPoolNameV6 = "default-ipv6-ippool"
)

// poolTTL is how long an Allocator trusts its cached list of pools. A
// changed or deleted pool is noticed at once anyway (every allocation
// transaction compares the revision of the pool it allocates from); a new
// pool is noticed when the cached ones cannot serve a request.
const poolTTL = 10 * time.Second

// pool is an IPPool with its CIDR parsed.
type pool struct {
	*resources.IPPool
	cidr      netip.Prefix
	blockSize int
	key       string // etcd key of the IPPool
	rev       int64  // its mod revision when read
}

// errPoolChanged: the pool an allocation used changed while it ran.
var errPoolChanged = errors.New("an IP pool changed during the assignment")

// loadPools returns the pools and this node's labels, from the cache when
// it is younger than poolTTL and force is false. fetched reports a read.
func (a *Allocator) loadPools(ctx context.Context, force bool) (pools []pool, fetched bool, err error) {
	if !force && a.pools != nil && a.now().Sub(a.poolsAt) < poolTTL {
		return a.pools, false, nil
	}
	if pools, err = a.listPools(ctx); err != nil {
		return nil, false, err
	}
	if a.labels, err = a.nodeLabels(ctx, pools); err != nil {
		return nil, false, err
	}
	a.pools, a.poolsAt = pools, a.now()
	return pools, true, nil
}

// poolOf returns the pool of pools containing block b.
func poolOf(b netip.Prefix, pools []pool) *pool {
	for i, p := range pools {
		if p.cidr.Bits() <= b.Bits() && p.cidr.Contains(b.Addr()) {
			return &pools[i]
		}
	}
	return nil
}

// listPools reads every pool, skipping (with a warning) any whose CIDR
// does not parse; sorted by name.
func (a *Allocator) listPools(ctx context.Context) ([]pool, error) {
	pools, _, err := a.listPoolsAt(ctx)
	return pools, err
}

// listPoolsAt is listPools with the revision the pools were read at.
func (a *Allocator) listPoolsAt(ctx context.Context) ([]pool, int64, error) {
	var ps []*resources.IPPool
	var listRev int64
	err := a.call(ctx, "list IP pools", func(c context.Context) (err error) {
		ps, listRev, err = datastore.ListAs[*resources.IPPool](c, a.store, "")
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]pool, 0, len(ps))
	for _, p := range ps {
		cidr, err := resources.ParseCIDR(p.Spec.CIDR)
		if err != nil || cidr.Addr().Is4In6() {
			// An IPv4-mapped pool (stored before Validate refused them)
			// hands out addresses that could never be released.
			slog.Warn("ipam: skipping IP pool with an invalid or IPv4-mapped CIDR; delete it with calicoctl", "pool", p.Name, "cidr", p.Spec.CIDR)
			continue
		}
		bs := p.Spec.BlockSize
		if bs == 0 {
			bs = map[bool]int{true: resources.DefaultBlockSizeV4, false: resources.DefaultBlockSizeV6}[cidr.Addr().Is4()]
		}
		if bs < cidr.Bits() || cidr.Addr().BitLen()-bs > maxBlockHostBits || bs > cidr.Addr().BitLen() {
			slog.Warn("ipam: skipping IP pool with an unusable block size", "pool", p.Name, "blockSize", bs)
			continue
		}
		key, err := datastore.KeyFor(resources.KindIPPool, "", p.Name)
		if err != nil {
			return nil, 0, err
		}
		rev, _ := strconv.ParseInt(p.ResourceVersion, 10, 64)
		out = append(out, pool{IPPool: p, cidr: cidr, blockSize: bs, key: key, rev: rev})
	}
	slices.SortFunc(out, func(x, y pool) int { return strings.Compare(x.Name, y.Name) })
	return out, listRev, nil
}

// poolContaining returns the most specific pool containing ip.
func poolContaining(pools []pool, ip netip.Addr) (pool, bool) {
	var best pool
	found := false
	for _, p := range pools {
		if p.cidr.Contains(ip) && (!found || p.cidr.Bits() > best.cidr.Bits()) {
			best, found = p, true
		}
	}
	return best, found
}

// eligible returns the pools of one family AutoAssign may use: enabled,
// selecting this node, and within restrict when it is not empty.
func (a *Allocator) eligible(all []pool, v4 bool, restrict, exclude []netip.Prefix) ([]pool, error) {
	fam := map[bool]string{true: "IPv4", false: "IPv6"}[v4]
	var want []netip.Prefix
	for _, r := range restrict {
		if r.Addr().Is4() == v4 {
			want = append(want, r.Masked())
		}
	}
	labels := a.labels
	var out []pool
	for _, r := range want {
		i := slices.IndexFunc(all, func(p pool) bool { return p.cidr == r })
		if i < 0 {
			return nil, fmt.Errorf("no IP pool has CIDR %s (was it deleted?): create it with calicoctl apply, or use another network: %w", r, ErrNoPool)
		}
		if err := usable(all[i], a.node, labels); err != nil {
			return nil, err
		}
		out = append(out, all[i])
	}
	if len(want) > 0 {
		return out, nil
	}
	for _, p := range all {
		if p.cidr.Addr().Is4() == v4 && !slices.Contains(exclude, p.cidr) && usable(p, a.node, labels) == nil {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no enabled %s pool is usable on node %q: create one with calicoctl apply -f (kind: IPPool), or enable one (spec.disabled: false): %w", fam, a.node, ErrNoPool)
	}
	return out, nil
}

// usable says why a pool may not be allocated from on this node, if so.
func usable(p pool, node string, labels map[string]string) error {
	if p.Spec.Disabled {
		return fmt.Errorf("IP pool %s is disabled: set spec.disabled to false, or use another pool: %w", p, ErrPoolDisabled)
	}
	if trivialSelector(p.Spec.NodeSelector) {
		return nil
	}
	sel, err := selector.Parse(p.Spec.NodeSelector)
	if err != nil {
		return fmt.Errorf("IP pool %s: spec.nodeSelector: %v: fix it with calicoctl apply: %w", p, err, ErrNoPool)
	}
	if !sel.Evaluate(labels) {
		return fmt.Errorf("IP pool %s does not select node %q (spec.nodeSelector %q): label the node or change the selector: %w", p, node, p.Spec.NodeSelector, ErrNoPool)
	}
	return nil
}

func trivialSelector(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || s == "all()"
}

// nodeLabels reads this node's labels, only when some pool needs them.
func (a *Allocator) nodeLabels(ctx context.Context, pools []pool) (map[string]string, error) {
	if !slices.ContainsFunc(pools, func(p pool) bool { return !trivialSelector(p.Spec.NodeSelector) }) {
		return nil, nil
	}
	var n *resources.Node
	err := a.call(ctx, "read node "+a.node, func(c context.Context) (err error) {
		n, err = datastore.GetAs[*resources.Node](c, a.store, "", a.node)
		return err
	})
	if errors.Is(err, datastore.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read node %q for pool node selectors: %w", a.node, err)
	}
	return n.Labels, nil
}

// PoolFor returns the pool containing ip (the most specific one if pools
// overlap), or an error wrapping ErrNoPool.
func (a *Allocator) PoolFor(ctx context.Context, ip netip.Addr) (*resources.IPPool, error) {
	pools, err := a.listPools(ctx)
	if err != nil {
		return nil, err
	}
	p, ok := poolContaining(pools, ip.Unmap())
	if !ok {
		return nil, fmt.Errorf("address %s is in no IP pool: %w", ip, ErrNoPool)
	}
	return p.IPPool, nil
}

// EnsureDefaultPool creates the default pool (natOutgoing, default block
// size) when no IP pool exists at all. cidr defaults to 192.168.0.0/16;
// an IPv6 cidr makes default-ipv6-ippool instead. It is a no-op when any
// pool exists, including when another node created one concurrently.
func (a *Allocator) EnsureDefaultPool(ctx context.Context, cidr string) error {
	if cidr == "" {
		cidr = DefaultPoolCIDR
	}
	pfx, err := resources.ParseCIDR(cidr)
	if err != nil {
		return fmt.Errorf("default pool CIDR %q is not a CIDR: give one such as %s: %w", cidr, DefaultPoolCIDR, ErrInvalid)
	}
	n, err := a.countPools(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	name := DefaultPoolNameV4
	if pfx.Addr().Is6() {
		name = DefaultPoolNameV6
	}
	p := resources.NewIPPool(name)
	p.Spec.CIDR = cidr
	p.Spec.NATOutgoing = true
	err = a.call(ctx, "create IP pool "+name, func(c context.Context) error {
		_, err := a.store.Create(c, p)
		return err
	})
	if err != nil {
		if errors.Is(err, datastore.ErrAlreadyExists) {
			return nil
		}
		return fmt.Errorf("create default IP pool %s (%s): %w", name, cidr, err)
	}
	slog.Info("ipam: created the default IP pool", "pool", name, "cidr", cidr)
	return nil
}

// countPools counts the stored IP pools.
func (a *Allocator) countPools(ctx context.Context) (int, error) {
	var pools []resources.Resource
	err := a.call(ctx, "list IP pools", func(c context.Context) (err error) {
		pools, _, err = a.store.List(c, resources.KindIPPool, "")
		return err
	})
	return len(pools), err
}
