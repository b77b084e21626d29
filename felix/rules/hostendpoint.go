package rules

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/calico-docker/calico-libnetwork/calc"
	ipt "github.com/calico-docker/calico-libnetwork/felix/iptables"
	"github.com/calico-docker/calico-libnetwork/resources"
)

// Host endpoint chains (see the package doc for the layout).
const (
	ChainFromHostEndpoint = "cali-from-host-endpoint"
	ChainToHostEndpoint   = "cali-to-host-endpoint"
	ChainHostForward      = "cali-hep-forward"
	ChainFromHEPForward   = "cali-from-hep-forward"
	ChainToHEPForward     = "cali-to-hep-forward"
	ChainFailsafeIn       = "cali-failsafe-in"
	ChainFailsafeOut      = "cali-failsafe-out"
	// ChainPrerouting is ours in the raw and mangle tables' PREROUTING.
	ChainPrerouting = "cali-PREROUTING"
	// ChainRawOutput is ours in the raw table's OUTPUT.
	ChainRawOutput = "cali-OUTPUT"
)

// HostEndpointConfig configures host endpoint protection: the failsafe
// ports (calc.FailsafeConfig: calc decides their order and meaning, so
// policy explain and the rendered chains agree).
type HostEndpointConfig = calc.FailsafeConfig

// HostSource is what host endpoint rendering reads besides Source.
// *calc.Model implements it, and so does felix/policy's Index; a Source
// without it renders no host endpoints.
type HostSource interface {
	// LocalHostEndpoints returns node's host endpoints, sorted by name.
	LocalHostEndpoints(node string) []*calc.HostEndpoint
	// HostPoliciesFor returns, in evaluation order, the policies of a kind
	// selecting h in the direction.
	HostPoliciesFor(h *calc.HostEndpoint, kind calc.HostPolicyKind, dir calc.Direction) []*calc.Policy
}

var _ HostSource = (*calc.Model)(nil)

// Table is the desired state of our part of one more iptables table.
type Table struct {
	Chains  []ipt.Chain
	Inserts map[string][]ipt.Rule // built-in chain -> rules at its top
}

// HostEndpointChain names a host endpoint's chain of a kind: "fh" (from
// the host endpoint: into the host), "th" (to it: out of the host), "fhfw"
// and "thfw" (forwarded in and out). The all-interfaces endpoint ("*") has
// a hashed name no interface can have.
func HostEndpointChain(kind, iface string) string {
	prefix := "cali-" + kind + "-"
	if iface == resources.HostEndpointAllInterfaces {
		return hashName(prefix, "*")
	}
	return prefix + iface
}

// usableHostEndpoints returns the host endpoints the dataplane can bind
// to an interface: one per interface name (the first by name), named
// interfaces sorted, the all-interfaces endpoint last. One with
// expectedIPs only binds to the interface that has the first of them
// found in addrs (none: not rendered). A workload interface is never a
// host endpoint.
func usableHostEndpoints(heps []*calc.HostEndpoint, addrs map[netip.Addr]string) []*calc.HostEndpoint {
	seen := map[string]bool{}
	var out []*calc.HostEndpoint
	for _, h := range heps {
		if h.IfaceName == "" {
			h = boundByAddress(h, addrs)
		}
		if h == nil || strings.HasPrefix(h.IfaceName, IfacePrefix) || seen[h.IfaceName] {
			continue
		}
		seen[h.IfaceName] = true
		out = append(out, h)
	}
	slices.SortStableFunc(out, func(a, b *calc.HostEndpoint) int {
		if a.AllInterfaces() != b.AllInterfaces() {
			if a.AllInterfaces() {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.IfaceName, b.IfaceName)
	})
	return out
}

// boundByAddress returns a copy of h bound to the interface that has one
// of its expected IPs, or nil.
func boundByAddress(h *calc.HostEndpoint, addrs map[netip.Addr]string) *calc.HostEndpoint {
	for _, p := range h.ExpectedIPs {
		if iface := addrs[p.Addr()]; iface != "" {
			cp := *h
			cp.IfaceName = iface
			return &cp
		}
	}
	return nil
}

// NeedsHostAddrs reports whether a host endpoint of heps is given by its
// expectedIPs only, so rendering needs Config.HostAddrs.
func NeedsHostAddrs(heps []*calc.HostEndpoint) bool {
	return slices.ContainsFunc(heps, func(h *calc.HostEndpoint) bool { return h.IfaceName == "" })
}

// hostTables are the raw and mangle tables of a render.
type hostTables struct{ raw, mangle *hostTable }

// hostEndpoints renders node's host endpoints: their filter chains (into
// r.chains, hooked into cali-INPUT, cali-OUTPUT and cali-FORWARD) and the
// raw and mangle tables. Without host endpoints nothing changes.
func (r *renderer) hostEndpoints(node string) hostTables {
	hs, ok := r.m.(HostSource)
	if !ok {
		return hostTables{}
	}
	heps := usableHostEndpoints(hs.LocalHostEndpoints(node), r.cfg.HostAddrs)
	if len(heps) == 0 {
		return hostTables{}
	}
	r.hostFilter(hs, heps)
	return hostTables{raw: r.hostRaw(hs, heps), mangle: r.hostMangle(hs, heps)}
}

// hostFilter renders the filter table's host endpoint chains.
func (r *renderer) hostFilter(hs HostSource, heps []*calc.HostEndpoint) {
	cfg := r.cfg.HostEndpoints
	r.chains[ChainFailsafeIn] = r.failsafes(cfg.Failsafes(calc.HostNormal, calc.Ingress), true)
	r.chains[ChainFailsafeOut] = r.failsafes(cfg.Failsafes(calc.HostNormal, calc.Egress), false)
	r.chains[ChainFromHostEndpoint] = dispatch(heps, "-i", "fh")
	r.chains[ChainToHostEndpoint] = dispatch(heps, "-o", "th")
	r.chains[ChainFromHEPForward] = dispatch(heps, "-i", "fhfw")
	r.chains[ChainToHEPForward] = dispatch(heps, "-o", "thfw")
	r.chains[ChainHostForward] = []ipt.Rule{{Action: ChainFromHEPForward}, {Action: ChainToHEPForward}}
	for _, h := range heps {
		r.chains[HostEndpointChain("fh", h.IfaceName)] = r.hostLocal(hs, h, calc.Ingress)
		r.chains[HostEndpointChain("th", h.IfaceName)] = r.hostLocal(hs, h, calc.Egress)
		r.chains[HostEndpointChain("fhfw", h.IfaceName)] = r.hostForward(hs, h, calc.Ingress)
		r.chains[HostEndpointChain("thfw", h.IfaceName)] = r.hostForward(hs, h, calc.Egress)
	}
	// Accepted by untracked (raw) or pre-DNAT (mangle) policy: skip the
	// normal policy, as Calico does.
	accepted := ipt.Rule{Match: MarkMatch(MarkAccept, MarkAccept), Action: "ACCEPT"}
	r.chains[ChainInput] = append(r.chains[ChainInput], accepted, ipt.Rule{Action: ChainFromHostEndpoint})
	r.chains[ChainOutput] = append(r.chains[ChainOutput], accepted, ipt.Rule{Action: ChainToHostEndpoint})
	// Forwarded: the host endpoints' applyOnForward policy before the
	// workloads' (both must allow); traffic between two host interfaces
	// is accepted once a host endpoint's policy allowed it, and left to
	// the host's other rules when no such policy applies.
	fwd := r.chains[ChainForward]
	i := slices.IndexFunc(fwd, func(x ipt.Rule) bool { return x.Action == ChainFromDispatch })
	fwd = slices.Insert(slices.Clone(fwd), max(i, 0), ipt.Rule{Match: MarkMatch(0, MarkAccept), Action: ChainHostForward})
	r.chains[ChainForward] = append(fwd, accepted)
}

// dispatch sends each host endpoint's interface (flag -i or -o) to its
// chain of kind; the all-interfaces endpoint takes every other interface
// except loopback (the host talking to itself) and workload interfaces.
// Traffic of other interfaces returns: Calico only polices interfaces it
// was told about.
func dispatch(heps []*calc.HostEndpoint, flag, kind string) []ipt.Rule {
	var out []ipt.Rule
	for _, h := range heps {
		target := "goto " + HostEndpointChain(kind, h.IfaceName)
		if h.AllInterfaces() {
			out = append(out,
				ipt.Rule{Match: flag + " " + IfacePrefix + "+", Action: "RETURN"},
				ipt.Rule{Match: flag + " lo", Action: "RETURN"},
				ipt.Rule{Action: target})
			continue
		}
		out = append(out, ipt.Rule{Match: flag + " " + h.IfaceName, Action: target})
	}
	return out
}

// hostLocal renders a host endpoint's chain for traffic into (ingress) or
// out of (egress) the host itself: established flows, failsafe ports,
// then the normal policies and profiles (a host endpoint with neither
// denies everything else, as Calico does).
func (r *renderer) hostLocal(hs HostSource, h *calc.HostEndpoint, dir calc.Direction) []ipt.Rule {
	ingress := dir == calc.Ingress
	rules := []ipt.Rule{
		{Match: "-m conntrack --ctstate RELATED,ESTABLISHED", Action: "ACCEPT"},
		{Match: "-m conntrack --ctstate INVALID", Action: "DROP"},
	}
	rules = append(rules, r.hostChecks(calc.HostNormal, ingress)...)
	group := r.groupOf(hs.HostPoliciesFor(h, calc.HostNormal, dir), h.Profiles, ingress)
	r.groups[group] = true // referred to by this render's uncached chains
	return append(rules, ipt.Rule{Action: group}, ipt.Rule{Action: "ACCEPT"})
}

// hostForward renders a host endpoint's chain for forwarded traffic:
// established flows are marked accepted; with applyOnForward policies
// selecting the endpoint their tiers decide (end-of-tier drop included),
// without any the packet returns undecided (allowed by default).
func (r *renderer) hostForward(hs HostSource, h *calc.HostEndpoint, dir calc.Direction) []ipt.Rule {
	est := "-m conntrack --ctstate RELATED,ESTABLISHED"
	rules := []ipt.Rule{
		{Match: est, Action: AcceptAction},
		{Match: est, Action: "RETURN"},
		{Match: "-m conntrack --ctstate INVALID", Action: "DROP"},
	}
	for _, pols := range calc.TierGroups(hs.HostPoliciesFor(h, calc.HostForward, dir)) {
		rules = append(rules, r.tierBlock(pols, dir == calc.Ingress, r.policies, true)...)
		if r.tierEnds(pols, dir == calc.Ingress) {
			break // an unconditional end-of-tier drop
		}
	}
	return rules
}

// hostChecks renders, in calc's order (calc.HostChecks), the accepts a
// host endpoint chain of kind makes before its policy.
func (r *renderer) hostChecks(kind calc.HostPolicyKind, ingress bool) []ipt.Rule {
	var out []ipt.Rule
	for _, c := range calc.HostChecks(kind) {
		switch c {
		case calc.CheckFailsafe:
			out = append(out, ipt.Rule{Action: map[bool]string{true: ChainFailsafeIn, false: ChainFailsafeOut}[ingress]})
		case calc.CheckNeighbourDiscovery:
			out = append(out, r.neighbourDiscovery()...)
		case calc.CheckTunnelPeers:
			out = append(out, r.tunnelAccepts(ingress)...)
		}
	}
	return out
}

// failsafes renders failsafe lists (calc.FailsafeConfig.Failsafes) as
// ACCEPT rules matching the destination or source port and a port's net
// as the remote end (-s ingress, -d egress).
func (r *renderer) failsafes(sets []calc.FailsafeSet, ingress bool) []ipt.Rule {
	netFlag := map[bool]string{true: "-s", false: "-d"}[ingress]
	var out []ipt.Rule
	for _, set := range sets {
		portFlag := map[bool]string{true: "--dport", false: "--sport"}[set.DstPort]
		for _, p := range set.Ports {
			proto := strings.ToLower(p.Protocol)
			m := fmt.Sprintf("-p %s -m %s %s %d", proto, proto, portFlag, p.Port)
			if p.Net != "" {
				n, err := resources.ParseNet(p.Net)
				if err != nil || n.Addr().Is4() != (r.cfg.IPVersion == 4) {
					continue // validated before; the other family's net
				}
				m = netFlag + " " + n.Masked().String() + " " + m
			}
			out = append(out, ipt.Rule{Match: m, Action: "ACCEPT"})
		}
	}
	return out
}

// neighbourDiscovery accepts IPv6 router and neighbour solicitations and
// advertisements on host endpoints before policy: without them the host
// loses its IPv6 neighbours (and so its peers), which no failsafe port
// would save.
func (r *renderer) neighbourDiscovery() []ipt.Rule {
	if r.cfg.IPVersion != 6 {
		return nil
	}
	var out []ipt.Rule
	for _, typ := range calc.NeighbourDiscoveryTypes {
		out = append(out, ipt.Rule{Match: fmt.Sprintf("-p ipv6-icmp -m icmp6 --icmpv6-type %d", typ), Action: "ACCEPT"})
	}
	return out
}
