package policy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// What the dataplane does after policy, which policy explain must say
// too: a workload's packet to a link-local address (its gateway
// 169.254.1.1 included) is dropped in cali-FORWARD before policy; one to
// an address of its own host goes through cali-INPUT, where
// endpoint_to_host_action (a setting of each host's daemon, Drop by
// default, not stored in etcd: hence --endpoint-to-host-action) decides
// after egress policy allowed it.

var linkLocal = []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("fe80::/10")}

// hostVerdict overrides a verdict the way the dataplane does for a
// workload's traffic to link-local addresses and to its own host.
func hostVerdict(ctx context.Context, st *datastore.Store, exp *Explanation, from, to *party, hostAction string) error {
	if from.wep == nil || !to.Outside {
		return nil
	}
	for _, ll := range linkLocal {
		if ll.Contains(to.addr) {
			exp.Allowed, exp.Verdict = false, "denied"
			exp.Reason = fmt.Sprintf("%s is link-local: workload traffic to link-local addresses (its gateway included) never leaves the host; the dataplane drops it before policy", to.addr)
			return nil
		}
	}
	own, err := nodeOwns(ctx, st, from.Node, to.addr)
	if err != nil || !own || !exp.Allowed {
		return err
	}
	to.Outside = false
	if hostAction == "Accept" {
		exp.Reason += fmt.Sprintf("; %s is the workload's own host (node %s), and endpoint_to_host_action Accept lets it in", to.addr, from.Node)
		return nil
	}
	exp.Allowed, exp.Verdict = false, "denied"
	exp.Reason = fmt.Sprintf("egress policy allows it, but %s is the workload's own host (node %s) and endpoint_to_host_action is Drop (the default; set endpoint_to_host_action: Accept on that host to let workloads reach it)", to.addr, from.Node)
	return nil
}

// nodeOwns reports whether addr is one of node's addresses (its Node).
func nodeOwns(ctx context.Context, st *datastore.Store, node string, addr netip.Addr) (bool, error) {
	if node == "" {
		return false, nil
	}
	n, err := datastore.GetAs[*resources.Node](ctx, st, "", node)
	if errors.Is(err, datastore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read node %s: %w", node, err)
	}
	if n.Spec.BGP == nil {
		return false, nil
	}
	for _, s := range []string{n.Spec.BGP.IPv4Address, n.Spec.BGP.IPv6Address} {
		if p, err := netip.ParsePrefix(s); err == nil && p.Addr() == addr {
			return true, nil
		}
	}
	return false, nil
}
