package routing

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/calico-docker/calico-libnetwork/resources"
	"github.com/calico-docker/calico-libnetwork/routing/autodetect"
)

// NodeSettings are calico/node's settings for the Node's BGP identity.
type NodeSettings struct {
	IP        string // IP: an address (CIDR or bare), "autodetect", "none", or "" (keep the stored one, else autodetect)
	IP6       string // IP6: the same for IPv6; "" means none unless stored
	IPMethod  string // IP_AUTODETECTION_METHOD, default first-found
	IP6Method string // IP6_AUTODETECTION_METHOD
	AS        string // AS: the node's AS number; "" keeps the stored one (else the cluster default applies)
}

// ParseAddrSetting checks an IP/IP6 setting; family is 4 or 6.
func ParseAddrSetting(s string, family int) error {
	switch s {
	case "", "autodetect", "none":
		return nil
	}
	p, ok := parseAddrSetting(s)
	if !ok || p.Addr().Is4() != (family == 4) {
		return fmt.Errorf("%q is not an IPv%d address: give one such as %s, or autodetect or none", s, family,
			map[int]string{4: "10.0.0.1/24", 6: "fd00::1/64"}[family])
	}
	return nil
}

func parseAddrSetting(s string) (netip.Prefix, bool) {
	p := parseHostCIDR(s)
	return p, p.IsValid()
}

// ParseAS checks an AS setting.
func ParseAS(s string) (*resources.ASNumber, error) {
	if s == "" {
		return nil, nil
	}
	n, err := resources.ParseASNumber(strings.TrimSpace(s))
	if err != nil || n == 0 {
		return nil, fmt.Errorf("AS %q: give an AS number from 1 to 4294967295, or its dotted form HIGH.LOW (65000.100)", s)
	}
	return &n, nil
}

// ConfigureNode writes this host's BGP identity into its Node resource,
// as calico/node does at start: the IPv4 and IPv6 addresses (given,
// autodetected, or kept from the stored Node) and the AS number. The rest
// of the Node is kept. It returns the Node as stored.
func ConfigureNode(ctx context.Context, store NodeStore, name string, s NodeSettings, log *slog.Logger) (*resources.Node, error) {
	asn, err := ParseAS(s.AS)
	if err != nil {
		return nil, err
	}
	n, err := store.ModifyNode(ctx, name, func(n *resources.Node) error {
		if n.Spec.BGP == nil {
			n.Spec.BGP = &resources.NodeBGPSpec{}
		}
		b := n.Spec.BGP
		var err error
		if b.IPv4Address, err = chooseAddr(s.IP, s.IPMethod, b.IPv4Address, 4, true); err != nil {
			if s.IP != "" {
				return err
			}
			// Nothing asked for BGP explicitly: run without it rather than
			// refuse to start (a host with no usable address).
			log.Warn("No IPv4 BGP address: BGP stays off until one is set (IP=ADDRESS/LEN, or IP=autodetect with a method that finds one)", "err", err)
			b.IPv4Address = ""
		}
		if b.IPv6Address, err = chooseAddr(s.IP6, s.IP6Method, b.IPv6Address, 6, false); err != nil {
			return err
		}
		if asn != nil {
			b.ASNumber = asn
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store BGP settings of node %q: %w", name, err)
	}
	b := n.Spec.BGP
	log.Info("Node BGP identity", "node", name, "ipv4Address", b.IPv4Address, "ipv6Address", b.IPv6Address,
		"asNumber", asString(b.ASNumber))
	return n, nil
}

func asString(a *resources.ASNumber) string {
	if a == nil {
		return "(cluster default)"
	}
	return a.String()
}

// chooseAddr applies an IP/IP6 setting to the stored value.
func chooseAddr(setting, method, stored string, family int, autoWhenEmpty bool) (string, error) {
	name := map[int]string{4: "IP", 6: "IP6"}[family]
	switch setting {
	case "none":
		return "", nil
	case "":
		if stored != "" || !autoWhenEmpty {
			return stored, nil
		}
	case "autodetect":
	default:
		p, ok := parseAddrSetting(setting)
		if !ok || p.Addr().Is4() != (family == 4) {
			return "", fmt.Errorf("%s=%q is not an IPv%d address", name, setting, family)
		}
		return p.String(), nil
	}
	m, err := autodetect.Parse(method)
	if err != nil {
		return "", fmt.Errorf("%s_AUTODETECTION_METHOD: %w", name, err)
	}
	p, err := m.Detect(family)
	if err != nil {
		return "", fmt.Errorf("%s autodetection: %w", name, err)
	}
	return p.String(), nil
}
