package ipam

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Allocation is one allocated address with its owner.
type Allocation struct {
	IP     netip.Addr
	Handle string
	Attrs  map[string]string
}

// BlockInfo describes one block for calicoctl ipam show/check and the GC.
type BlockInfo struct {
	CIDR        netip.Prefix
	Pool        string // name of the pool containing the block; "" if none does
	Affinity    string // node holding affinity; "" when none
	Size        int    // addresses in the block
	Free        int
	Allocations []Allocation // sorted by address
}

// HandleInfo lists the addresses recorded against one handle.
type HandleInfo struct {
	Handle string
	IPs    []netip.Addr
}

// IPsByHandle returns the addresses recorded against handle, sorted.
func (a *Allocator) IPsByHandle(ctx context.Context, handle string) ([]netip.Addr, error) {
	if err := checkID("handle", handle); err != nil {
		return nil, err
	}
	kvs, err := a.listKeys(ctx, handleKeyPrefix(handle), true)
	if err != nil {
		return nil, fmt.Errorf("read handle %q: %w", handle, err)
	}
	var ips []netip.Addr
	for _, kv := range kvs {
		if _, ip, ok := parseHandleKey(kv.Key); ok {
			ips = append(ips, ip)
		}
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	return ips, nil
}

// Handles lists every handle with its addresses, sorted by handle.
func (a *Allocator) Handles(ctx context.Context) ([]HandleInfo, error) {
	kvs, err := a.listKeys(ctx, handlePrefix, true)
	if err != nil {
		return nil, fmt.Errorf("list IPAM handles: %w", err)
	}
	var out []HandleInfo
	for _, kv := range kvs {
		h, ip, ok := parseHandleKey(kv.Key)
		if !ok {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Handle != h {
			out = append(out, HandleInfo{Handle: h})
		}
		out[len(out)-1].IPs = append(out[len(out)-1].IPs, ip)
	}
	// Keys sort as strings; group again in case a handle is a prefix of another.
	slices.SortStableFunc(out, func(x, y HandleInfo) int { return strings.Compare(x.Handle, y.Handle) })
	merged := out[:0]
	for _, h := range out {
		if n := len(merged); n > 0 && merged[n-1].Handle == h.Handle {
			merged[n-1].IPs = append(merged[n-1].IPs, h.IPs...)
			continue
		}
		merged = append(merged, h)
	}
	for i := range merged {
		slices.SortFunc(merged[i].IPs, netip.Addr.Compare)
	}
	return merged, nil
}

// AffineBlocks returns the blocks node holds affinity for, sorted.
func (a *Allocator) AffineBlocks(ctx context.Context, node string) ([]netip.Prefix, error) {
	if err := checkID("node name", node); err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for _, fam := range []string{"ipv4", "ipv6"} {
		prefix := affinityPrefix(node, fam)
		kvs, err := a.listKeys(ctx, prefix, true)
		if err != nil {
			return nil, fmt.Errorf("list blocks of node %q: %w", node, err)
		}
		for _, kv := range kvs {
			if cidr, err := parseCIDRKey(kv.Key[len(prefix):]); err == nil {
				out = append(out, cidr)
			}
		}
	}
	slices.SortFunc(out, comparePrefix)
	return out, nil
}

func comparePrefix(x, y netip.Prefix) int {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c
	}
	return x.Bits() - y.Bits()
}

// Blocks lists every block with its pool, affinity and allocations.
func (a *Allocator) Blocks(ctx context.Context) ([]BlockInfo, error) {
	pools, err := a.listPools(ctx)
	if err != nil {
		return nil, err
	}
	kvs, err := a.listKeys(ctx, assignmentPrefix, false)
	if err != nil {
		return nil, fmt.Errorf("list IPAM blocks: %w", err)
	}
	out := make([]BlockInfo, 0, len(kvs))
	for _, kv := range kvs {
		b, err := decodeBlock(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("block key %s: %w", kv.Key, err)
		}
		info := BlockInfo{CIDR: b.cidr, Affinity: b.affinity, Size: len(b.alloc), Free: b.freeCount(), Allocations: b.allocations()}
		if p, ok := poolContaining(pools, b.cidr.Addr()); ok {
			info.Pool = p.Name
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(x, y BlockInfo) int { return comparePrefix(x.CIDR, y.CIDR) })
	return out, nil
}
