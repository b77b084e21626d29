package calc

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/calico-docker/calico-libnetwork/resources"
)

// The order in which the dataplane meets a packet crossing a host
// endpoint, shared by felix/rules (which renders it into the raw, mangle
// and filter tables) and HopVerdict (which traces it for explain):
//
//  1. raw (untracked: named host endpoints only): the checks of
//     HostChecks(HostUntracked), then the doNotTrack policies' tiers (no
//     end-of-tier drop). Allow: the packet is accepted untracked and skips
//     every later host endpoint stage.
//  2. mangle (ingress only, pre-DNAT): the checks of HostChecks(HostPreDNAT),
//     then the preDNAT policies' tiers (no end-of-tier drop). Allow: skips
//     the later host endpoint stages.
//  3. filter: traffic to or from the host itself meets the checks of
//     HostChecks(HostNormal), then the normal policies' tiers (end-of-tier
//     drop) and profiles, and with neither a policy nor a profile the
//     default deny; forwarded traffic meets the applyOnForward policies'
//     tiers of the interface it arrives through, then of the one it leaves
//     through (no checks; without policy the host endpoint does not police
//     it), then the workloads' own policy.
//
// A check accepting a packet ends that table's host endpoint chain only:
// the next table's chain starts again.

// HostCheck is an accept a host endpoint chain makes before its policy.
type HostCheck int

// Host checks.
const (
	// CheckFailsafe accepts the failsafe ports (FailsafeConfig.Failsafes).
	CheckFailsafe HostCheck = iota
	// CheckNeighbourDiscovery accepts IPv6 router and neighbour
	// solicitations and advertisements (NeighbourDiscoveryTypes).
	CheckNeighbourDiscovery
	// CheckTunnelPeers accepts the tunnel packets of the tunnel peers.
	CheckTunnelPeers
)

// HostChecks returns, in order, the checks a host endpoint chain of kind
// makes before its policies. Forwarded traffic (HostForward) has none.
func HostChecks(kind HostPolicyKind) []HostCheck {
	if kind == HostForward {
		return nil
	}
	return []HostCheck{CheckFailsafe, CheckNeighbourDiscovery, CheckTunnelPeers}
}

// NeighbourDiscoveryTypes are the ICMPv6 types CheckNeighbourDiscovery
// accepts: router solicitation and advertisement, neighbour solicitation
// and advertisement.
var NeighbourDiscoveryTypes = []int{133, 134, 135, 136}

// FailsafeConfig holds the failsafe ports, always open through host
// endpoint policy (untracked, pre-DNAT and normal) so an operator cannot
// lock themselves out. Inbound ports are destination ports of traffic into
// the host, outbound ones destination ports of traffic from it; a port's
// Net limits it to that remote network. nil means Calico's defaults; an
// empty list means none.
type FailsafeConfig struct {
	FailsafeInbound  []resources.ProtoPort
	FailsafeOutbound []resources.ProtoPort
}

// Inbound returns the inbound failsafe ports, defaulted.
func (c FailsafeConfig) Inbound() []resources.ProtoPort {
	if c.FailsafeInbound == nil {
		return resources.DefaultFailsafeInboundHostPorts()
	}
	return c.FailsafeInbound
}

// Outbound returns the outbound failsafe ports, defaulted.
func (c FailsafeConfig) Outbound() []resources.ProtoPort {
	if c.FailsafeOutbound == nil {
		return resources.DefaultFailsafeOutboundHostPorts()
	}
	return c.FailsafeOutbound
}

// FailsafeSet is one list of failsafe ports a chain accepts: matched on
// the destination port (DstPort) or, for the replies of untracked flows,
// on the source port. A port's Net matches the remote end: the source of
// ingress traffic, the destination of egress traffic.
type FailsafeSet struct {
	Ports   []resources.ProtoPort
	DstPort bool
}

// Failsafes returns the failsafe lists a chain of kind accepts in dir, in
// order. Untracked chains accept the replies too (no connection tracking
// lets them through): ingress the outbound ports' replies, egress the
// inbound ports'.
func (c FailsafeConfig) Failsafes(kind HostPolicyKind, dir Direction) []FailsafeSet {
	if kind == HostForward {
		return nil
	}
	own, other := c.Inbound(), c.Outbound()
	if dir == Egress {
		own, other = other, own
	}
	out := []FailsafeSet{{Ports: own, DstPort: true}}
	if kind == HostUntracked {
		out = append(out, FailsafeSet{Ports: other})
	}
	return out
}

// TunnelPeers are the other Calico hosts this host exchanges tunnel
// traffic with. As Calico's felix does, host endpoint chains accept VXLAN
// (UDP to VXLANPort) and IPIP packets from and to these hosts before
// policy, so protecting the host's interfaces never cuts workloads on
// other hosts off; tunnel packets from any other address meet policy.
type TunnelPeers struct {
	VXLANPort  int          // 0: no VXLAN
	VXLANPeers []netip.Addr // other hosts' underlay addresses (their VTEPs)
	IPIPPeers  []netip.Addr // other hosts' underlay addresses reached through tunl0 (IPv4)
}

// Equal reports whether two peer lists are the same.
func (t TunnelPeers) Equal(o TunnelPeers) bool {
	return t.VXLANPort == o.VXLANPort && slices.Equal(t.VXLANPeers, o.VXLANPeers) && slices.Equal(t.IPIPPeers, o.IPIPPeers)
}

// HostSettings are what host endpoint evaluation reads besides the model:
// the host's failsafe ports and its tunnel peers.
type HostSettings struct {
	Failsafe FailsafeConfig
	Tunnels  TunnelPeers
}

// checkAccepts reports whether check accepts pkt in a chain of kind and
// direction, and what accepted it ("tcp:22", "vxlan", ...).
func (s *HostSettings) checkAccepts(c HostCheck, kind HostPolicyKind, dir Direction, pkt Packet) (string, bool) {
	remote := pkt.Src
	if dir == Egress {
		remote = pkt.Dst
	}
	switch c {
	case CheckFailsafe:
		for _, set := range s.Failsafe.Failsafes(kind, dir) {
			if p, ok := failsafeMatch(set, remote, pkt); ok {
				return p, true
			}
		}
	case CheckNeighbourDiscovery:
		if pkt.Src.Is6() && pkt.Protocol == 58 && slices.Contains(NeighbourDiscoveryTypes, pkt.ICMPType) {
			return "icmpv6 type " + strconv.Itoa(pkt.ICMPType), true
		}
	case CheckTunnelPeers:
		tp := s.Tunnels
		if tp.VXLANPort != 0 && pkt.Protocol == 17 && int(pkt.DstPort) == tp.VXLANPort && slices.Contains(tp.VXLANPeers, remote) {
			return "vxlan", true
		}
		if pkt.Protocol == 4 && remote.Is4() && slices.Contains(tp.IPIPPeers, remote) {
			return "ipip", true
		}
	}
	return "", false
}

// failsafeMatch matches one failsafe list as the rendered rules do: the
// protocol, the port (destination or source) and, when set, the remote's
// network (entries of the other family never match).
func failsafeMatch(set FailsafeSet, remote netip.Addr, pkt Packet) (string, bool) {
	port := pkt.SrcPort
	if set.DstPort {
		port = pkt.DstPort
	}
	for _, p := range set.Ports {
		proto, err := resources.ParseProtocol(p.Protocol)
		if err != nil || proto.Number != pkt.Protocol || p.Port != port {
			continue
		}
		name := strings.ToLower(p.Protocol) + ":" + strconv.Itoa(int(p.Port))
		if p.Net != "" {
			n, err := resources.ParseNet(p.Net)
			if err != nil || !n.Contains(remote) {
				continue
			}
			name = strings.ToLower(p.Protocol) + ":" + p.Net + ":" + strconv.Itoa(int(p.Port))
		}
		if !set.DstPort {
			name += " (reply)"
		}
		return name, true
	}
	return "", false
}
