package resources

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseProtoPorts parses a failsafe port list in the syntax of Calico's
// FELIX_FAILSAFEINBOUNDHOSTPORTS / FELIX_FAILSAFEOUTBOUNDHOSTPORTS:
// comma-separated entries "[protocol:][net:]port" (protocol tcp, udp or
// sctp, default tcp; net a CIDR or address, an IPv6 one in brackets), for
// example "tcp:22,udp:68,tcp:10.0.0.0/8:2379". "none" (or nothing) is the
// empty list. The error names the entry and says what to write instead.
func ParseProtoPorts(s string) ([]ProtoPort, error) {
	s = strings.TrimSpace(s)
	out := []ProtoPort{}
	if s == "" || strings.EqualFold(s, "none") {
		return out, nil
	}
	for i, entry := range strings.Split(s, ",") {
		pp, err := parseProtoPort(strings.TrimSpace(entry))
		if err != nil {
			return nil, fmt.Errorf("entry %d %q: %w; write entries like tcp:22, udp:68 or tcp:10.0.0.0/8:2379, or none", i+1, entry, err)
		}
		out = append(out, pp)
	}
	return out, nil
}

func parseProtoPort(entry string) (ProtoPort, error) {
	pp := ProtoPort{Protocol: "tcp"}
	if entry == "" {
		return pp, fmt.Errorf("is empty")
	}
	rest := entry
	if proto, after, ok := strings.Cut(entry, ":"); ok && proto != "" && !strings.ContainsAny(proto[:1], "0123456789[") {
		p, err := ParseProtocol(proto)
		if err != nil || !p.HasPorts() {
			return pp, fmt.Errorf("protocol %q must be tcp, udp or sctp", proto)
		}
		pp.Protocol, rest = strings.ToLower(proto), after
	}
	i := strings.LastIndex(rest, ":")
	portText := rest[i+1:]
	if i >= 0 {
		net := strings.TrimSuffix(strings.TrimPrefix(rest[:i], "["), "]")
		if _, err := ParseNet(net); err != nil {
			return pp, fmt.Errorf("net %q is not a CIDR or address", rest[:i])
		}
		pp.Net = net
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return pp, fmt.Errorf("port %q must be a number from 1 to 65535", portText)
	}
	pp.Port = uint16(port)
	return pp, nil
}

// FormatProtoPorts writes ports in ParseProtoPorts' syntax ("none" for
// an empty list).
func FormatProtoPorts(ports []ProtoPort) string {
	if len(ports) == 0 {
		return "none"
	}
	parts := make([]string, len(ports))
	for i, p := range ports {
		net := p.Net
		if strings.Contains(net, ":") {
			net = "[" + net + "]"
		}
		if net != "" {
			net += ":"
		}
		parts[i] = fmt.Sprintf("%s:%s%d", strings.ToLower(p.Protocol), net, p.Port)
	}
	return strings.Join(parts, ",")
}
