package resources

import (
	"fmt"
	"sort"
	"strings"
)

// KindInfo describes one registered kind.
type KindInfo struct {
	Kind       string // "IPPool"
	Plural     string // "ippools": the etcd key segment and the calicoctl name
	Namespaced bool
	Aliases    []string // other names calicoctl accepts ("pool", "ippool")
	New        func() Resource
}

var kinds = map[string]*KindInfo{}

func register(k *KindInfo) {
	kinds[k.Kind] = k
}

func init() {
	register(&KindInfo{Kind: KindIPPool, Plural: "ippools", Aliases: []string{"ippool", "ipp", "ipps", "pool", "pools"}, New: func() Resource { return NewIPPool("") }})
	register(&KindInfo{Kind: KindProfile, Plural: "profiles", Aliases: []string{"profile", "pro", "pros"}, New: func() Resource { return NewProfile("") }})
	register(&KindInfo{Kind: KindWorkloadEndpoint, Plural: "workloadendpoints", Namespaced: true, Aliases: []string{"workloadendpoint", "wep", "weps", "endpoint", "endpoints"}, New: func() Resource { return NewWorkloadEndpoint("") }})
	register(&KindInfo{Kind: KindNode, Plural: "nodes", Aliases: []string{"node", "no", "nos"}, New: func() Resource { return NewNode("") }})
	register(&KindInfo{Kind: KindNetworkPolicy, Plural: "networkpolicies", Namespaced: true, Aliases: []string{"networkpolicy", "policy", "policies", "pol", "pols", "netpol", "netpols", "np"}, New: func() Resource { return NewNetworkPolicy("") }})
	register(&KindInfo{Kind: KindGlobalNetworkPolicy, Plural: "globalnetworkpolicies", Aliases: []string{"globalnetworkpolicy", "gnp", "gnps"}, New: func() Resource { return NewGlobalNetworkPolicy("") }})
	register(&KindInfo{Kind: KindBGPPeer, Plural: "bgppeers", Aliases: []string{"bgppeer", "bgpp", "bgpps", "bp", "bps", "peer", "peers"}, New: func() Resource { return NewBGPPeer("") }})
	register(&KindInfo{Kind: KindHostEndpoint, Plural: "hostendpoints", Aliases: []string{"hostendpoint", "hep", "heps"}, New: func() Resource { return NewHostEndpoint("") }})
	register(&KindInfo{Kind: KindGlobalNetworkSet, Plural: "globalnetworksets", Aliases: []string{"globalnetworkset", "gnetsets"}, New: func() Resource { return NewGlobalNetworkSet("") }})
	register(&KindInfo{Kind: KindNetworkSet, Plural: "networksets", Namespaced: true, Aliases: []string{"networkset", "netset", "netsets"}, New: func() Resource { return NewNetworkSet("") }})
	register(&KindInfo{Kind: KindTier, Plural: "tiers", Aliases: []string{"tier"}, New: func() Resource { return NewTier("") }})
	register(&KindInfo{Kind: KindStagedNetworkPolicy, Plural: "stagednetworkpolicies", Namespaced: true, Aliases: []string{"stagednetworkpolicy", "stagedpolicy", "stagedpolicies", "snp", "snps", "spol", "spols"}, New: func() Resource { return NewStagedNetworkPolicy("") }})
	register(&KindInfo{Kind: KindStagedGlobalNetworkPolicy, Plural: "stagedglobalnetworkpolicies", Aliases: []string{"stagedglobalnetworkpolicy", "sgnp", "sgnps"}, New: func() Resource { return NewStagedGlobalNetworkPolicy("") }})
	register(&KindInfo{Kind: KindFelixConfiguration, Plural: "felixconfigurations", Aliases: []string{"felixconfiguration", "felixconfig", "felixconfigs"}, New: func() Resource { return NewFelixConfiguration("") }})
	register(&KindInfo{Kind: KindClusterInformation, Plural: "clusterinformations", Aliases: []string{"clusterinformation", "clusterinfo", "clusterinfos"}, New: func() Resource { return NewClusterInformation("") }})
	register(&KindInfo{Kind: KindIPReservation, Plural: "ipreservations", Aliases: []string{"ipreservation", "reservation", "reservations"}, New: func() Resource { return NewIPReservation("") }})
	register(&KindInfo{Kind: KindBGPFilter, Plural: "bgpfilters", Aliases: []string{"bgpfilter"}, New: func() Resource { return NewBGPFilter("") }})
	register(&KindInfo{Kind: KindBGPConfiguration, Plural: "bgpconfigurations", Aliases: []string{"bgpconfiguration", "bgpconfig", "bgpconfigs"}, New: func() Resource { return NewBGPConfiguration("") }})
}

// Lookup finds a kind by its Kind, plural or alias, case-insensitively.
func Lookup(name string) (*KindInfo, error) {
	if k, ok := kinds[name]; ok {
		return k, nil
	}
	l := strings.ToLower(name)
	for _, k := range kinds {
		if strings.ToLower(k.Kind) == l || k.Plural == l {
			return k, nil
		}
		for _, a := range k.Aliases {
			if a == l {
				return k, nil
			}
		}
	}
	if why := elsewhere(name); why != "" {
		return nil, fmt.Errorf("%s", why)
	}
	return nil, fmt.Errorf("unknown resource kind %q: use one of %s", name, strings.Join(KindNames(), ", "))
}

// KindNames lists every registered Kind, sorted.
func KindNames() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Kinds lists every registered kind, sorted by Kind.
func Kinds() []*KindInfo {
	out := make([]*KindInfo, 0, len(kinds))
	for _, n := range KindNames() {
		out = append(out, kinds[n])
	}
	return out
}

// New returns an empty object of the kind with its TypeMeta set.
func New(kind string) (Resource, error) {
	k, err := Lookup(kind)
	if err != nil {
		return nil, err
	}
	return k.New(), nil
}

// InfoOf returns the registration of r's kind.
func InfoOf(r Resource) *KindInfo {
	return kinds[r.GetTypeMeta().Kind]
}

func typeMeta(kind string) TypeMeta { return TypeMeta{Kind: kind, APIVersion: APIVersion} }
