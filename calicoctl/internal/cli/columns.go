package cli

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/datastore"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// column is one table column of a kind; wide columns show only with -o wide.
type column struct {
	name  string
	wide  bool
	value func(resources.Resource, *tableContext) string
}

// tableContext carries what some columns need besides the object.
type tableContext struct {
	ctx        context.Context
	st         *datastore.Store
	defaultASN string // cached "(64512)" for nodes without their own AS
}

// col adapts a typed cell function to a column.
func col[T resources.Resource](name string, wide bool, f func(T) string) column {
	return column{name: name, wide: wide, value: func(r resources.Resource, _ *tableContext) string {
		if t, ok := r.(T); ok {
			return f(t)
		}
		return ""
	}}
}

func name(r resources.Resource) string { return r.Meta().Name }

// columnsFor returns the columns of a kind: calicoctl's, with its names
// and order for the default and the wide table (scripts rely on them).
func columnsFor(kind string) []column {
	nameCol := column{name: "NAME", value: func(r resources.Resource, _ *tableContext) string { return name(r) }}
	switch kind {
	case resources.KindIPPool:
		return ippoolColumns(nameCol)
	case resources.KindProfile:
		return []column{nameCol, col("LABELS", true, func(p *resources.Profile) string { return LabelString(p.Spec.LabelsToApply) })}
	case resources.KindWorkloadEndpoint:
		return wepColumns()
	case resources.KindNode:
		return nodeColumns(nameCol)
	case resources.KindNetworkPolicy, resources.KindGlobalNetworkPolicy,
		resources.KindStagedNetworkPolicy, resources.KindStagedGlobalNetworkPolicy:
		return policyColumns(nameCol)
	case resources.KindHostEndpoint:
		type H = *resources.HostEndpoint
		return []column{nameCol,
			col("NODE", false, func(h H) string { return h.Spec.Node }),
			col("INTERFACE", true, func(h H) string { return h.Spec.InterfaceName }),
			col("IPS", true, func(h H) string { return strings.Join(h.Spec.ExpectedIPs, ",") }),
			col("PROFILES", true, func(h H) string { return strings.Join(h.Spec.Profiles, ",") })}
	case resources.KindGlobalNetworkSet:
		return []column{nameCol, col("NETS", true, func(n *resources.GlobalNetworkSet) string { return truncate(strings.Join(n.Spec.Nets, ","), 80) })}
	case resources.KindNetworkSet:
		return []column{nameCol, col("NETS", true, func(n *resources.NetworkSet) string { return truncate(strings.Join(n.Spec.Nets, ","), 80) })}
	case resources.KindTier:
		return []column{nameCol, col("ORDER", false, func(t *resources.Tier) string { return OrderString(t.Spec.Order) })}
	case resources.KindIPReservation:
		return []column{nameCol, col("CIDRS", true, func(r *resources.IPReservation) string { return truncate(strings.Join(r.Spec.ReservedCIDRs, ","), 80) })}
	case resources.KindBGPPeer:
		return bgpPeerColumns(nameCol)
	case resources.KindBGPConfiguration:
		return bgpConfigColumns(nameCol)
	case resources.KindClusterInformation:
		return clusterInfoColumns(nameCol)
	}
	return []column{nameCol}
}

// clusterInfoColumns are calicoctl's, in the default table too.
func clusterInfoColumns(nameCol column) []column {
	type C = *resources.ClusterInformation
	return []column{nameCol,
		col("CLUSTERGUID", false, func(c C) string { return c.Spec.ClusterGUID }),
		col("CLUSTERTYPE", false, func(c C) string { return c.Spec.ClusterType }),
		col("CALICOVERSION", false, func(c C) string { return c.Spec.CalicoVersion }),
		col("DATASTOREREADY", false, func(c C) string {
			if c.Spec.DatastoreReady == nil {
				return ""
			}
			return strconv.FormatBool(*c.Spec.DatastoreReady)
		}),
	}
}

func ippoolColumns(nameCol column) []column {
	type P = *resources.IPPool
	return []column{nameCol,
		col("CIDR", false, func(p P) string { return p.Spec.CIDR }),
		col("NAT", true, func(p P) string { return strconv.FormatBool(p.Spec.NATOutgoing) }),
		col("IPIPMODE", true, func(p P) string { return FirstSet(p.Spec.IPIPMode, resources.EncapNever) }),
		col("VXLANMODE", true, func(p P) string { return FirstSet(p.Spec.VXLANMode, resources.EncapNever) }),
		col("DISABLED", true, func(p P) string { return strconv.FormatBool(p.Spec.Disabled) }),
		col("DISABLEBGPEXPORT", true, func(p P) string { return strconv.FormatBool(p.Spec.DisableBGPExport) }),
		col("SELECTOR", false, func(p P) string { return p.Spec.NodeSelector }),
	}
}

// policyColumns are calicoctl's for every policy kind: NAME TIER, and
// ORDER SELECTOR when wide.
func policyColumns(nameCol column) []column {
	spec := func(r resources.Resource) *resources.PolicySpec {
		switch p := r.(type) {
		case *resources.NetworkPolicy:
			return &p.Spec
		case *resources.GlobalNetworkPolicy:
			return &p.Spec
		case *resources.StagedNetworkPolicy:
			return &p.Spec.PolicySpec
		case *resources.StagedGlobalNetworkPolicy:
			return &p.Spec.PolicySpec
		}
		return &resources.PolicySpec{}
	}
	cell := func(name string, wide bool, f func(*resources.PolicySpec) string) column {
		return column{name: name, wide: wide, value: func(r resources.Resource, _ *tableContext) string { return f(spec(r)) }}
	}
	return []column{nameCol,
		cell("TIER", false, func(s *resources.PolicySpec) string { return s.TierName() }),
		cell("ORDER", true, func(s *resources.PolicySpec) string { return OrderString(s.Order) }),
		cell("SELECTOR", true, func(s *resources.PolicySpec) string { return s.Selector }),
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func wepColumns() []column {
	type W = *resources.WorkloadEndpoint
	return []column{
		col("NAME", true, func(w W) string { return w.Name }),
		col("WORKLOAD", false, func(w W) string { return w.Spec.Workload }),
		col("NODE", false, func(w W) string { return w.Spec.Node }),
		col("NETWORKS", false, func(w W) string { return strings.Join(w.Spec.IPNetworks, ",") }),
		col("INTERFACE", false, func(w W) string { return w.Spec.InterfaceName }),
		col("PROFILES", true, func(w W) string { return strings.Join(w.Spec.Profiles, ",") }),
		col("NATS", true, func(w W) string { return "" }),
	}
}

func nodeColumns(nameCol column) []column {
	bgp := func(f func(*resources.NodeBGPSpec) string) func(*resources.Node) string {
		return func(n *resources.Node) string {
			if n.Spec.BGP == nil {
				return ""
			}
			return f(n.Spec.BGP)
		}
	}
	asn := column{name: "ASN", wide: true, value: func(r resources.Resource, tc *tableContext) string {
		if n, ok := r.(*resources.Node); ok && n.Spec.BGP != nil && n.Spec.BGP.ASNumber != nil {
			return strconv.FormatUint(uint64(*n.Spec.BGP.ASNumber), 10)
		}
		return tc.inheritedASN()
	}}
	return []column{nameCol, asn,
		col("IPV4", true, bgp(func(b *resources.NodeBGPSpec) string { return b.IPv4Address })),
		col("IPV6", true, bgp(func(b *resources.NodeBGPSpec) string { return b.IPv6Address })),
	}
}

// inheritedASN is the cluster AS in parentheses, as calicoctl shows it for
// nodes without their own: BGPConfiguration "default", else 64512.
func (tc *tableContext) inheritedASN() string {
	if tc.defaultASN != "" {
		return tc.defaultASN
	}
	asn := resources.DefaultASNumber
	if tc.st != nil {
		cfg, err := datastore.GetAs[*resources.BGPConfiguration](tc.ctx, tc.st, "", "default")
		if err == nil && cfg.Spec.ASNumber != nil {
			asn = *cfg.Spec.ASNumber
		} else if err != nil && !errors.Is(err, datastore.ErrNotFound) {
			return "?"
		}
	}
	tc.defaultASN = "(" + strconv.FormatUint(uint64(asn), 10) + ")"
	return tc.defaultASN
}

func bgpPeerColumns(nameCol column) []column {
	type P = *resources.BGPPeer
	return []column{nameCol,
		col("PEERIP", false, func(p P) string { return FirstSet(p.Spec.PeerIP, p.Spec.PeerSelector) }),
		col("NODE", false, func(p P) string { return FirstSet(p.Spec.Node, p.Spec.NodeSelector, "(global)") }),
		col("ASN", false, func(p P) string {
			if p.Spec.ASNumber == 0 {
				return ""
			}
			return strconv.FormatUint(uint64(p.Spec.ASNumber), 10)
		}),
	}
}

func bgpConfigColumns(nameCol column) []column {
	type C = *resources.BGPConfiguration
	return []column{nameCol,
		col("LOGSEVERITY", false, func(c C) string { return c.Spec.LogSeverityScreen }),
		col("MESHENABLED", false, func(c C) string {
			if c.Spec.NodeToNodeMeshEnabled == nil && c.Name != "default" {
				return "" // per-node configurations inherit it
			}
			return strconv.FormatBool(c.MeshEnabled())
		}),
		col("ASNUMBER", false, func(c C) string {
			if c.Spec.ASNumber == nil {
				return ""
			}
			return strconv.FormatUint(uint64(*c.Spec.ASNumber), 10)
		}),
	}
}

func FirstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func OrderString(o *float64) string {
	if o == nil {
		return ""
	}
	return strconv.FormatFloat(*o, 'f', -1, 64)
}

func LabelString(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}
