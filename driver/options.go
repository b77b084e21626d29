package driver

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/docker/go-plugins-helpers/network"

	"github.com/calico-docker/calico-libnetwork/selector"
)

// Option keys Docker puts in CreateNetworkRequest.Options.
const (
	optGeneric    = "com.docker.network.generic" // the user's --opt KEY=VALUE map
	optEnableIPv6 = "com.docker.network.enable_ipv6"
	optInternal   = "com.docker.network.internal"
)

// OptProfile is the --opt naming the network's Calico profile.
const OptProfile = "org.projectcalico.profile"

// acceptedOpts lists every --opt key the driver understands, with help.
var acceptedOpts = map[string]string{
	OptProfile:   "the Calico profile of the network's endpoints (default: the network name)",
	OptNamespace: "the Calico namespace of the network's endpoints, for namespaced policy and network sets (default: default)",
}

// netOptions is what CreateNetwork takes from the request.
type netOptions struct {
	profile   string // "" means: the network name
	namespace string // "" means: default
	ipv6      bool
	ipv4Pools []string
	ipv6Pools []string
}

// parseCreateNetwork validates a CreateNetwork request and extracts what the
// driver stores. It changes nothing.
func parseCreateNetwork(req *network.CreateNetworkRequest) (*netOptions, error) {
	if err := checkID("NetworkID", req.NetworkID); err != nil {
		return nil, err
	}
	o := &netOptions{}
	if err := o.parseTopLevel(req.Options); err != nil {
		return nil, err
	}
	var err error
	if o.ipv4Pools, err = ipamPools(req.IPv4Data, false); err != nil {
		return nil, err
	}
	if o.ipv6Pools, err = ipamPools(req.IPv6Data, true); err != nil {
		return nil, err
	}
	if len(o.ipv4Pools) == 0 && len(o.ipv6Pools) == 0 {
		return nil, fmt.Errorf("network %s has no address pool: create it with --ipam-driver calico-ipam", req.NetworkID)
	}
	return o, nil
}

func (o *netOptions) parseTopLevel(opts map[string]any) error {
	for _, k := range sortedKeys(opts) {
		v := opts[k]
		switch k {
		case optEnableIPv6:
			b, ok := v.(bool)
			if !ok {
				return fmt.Errorf("option %s must be true or false, not %v", k, v)
			}
			o.ipv6 = b
		case optGeneric:
			if err := o.parseGeneric(v); err != nil {
				return err
			}
		case optInternal:
			if b, _ := v.(bool); b {
				return fmt.Errorf("the calico driver does not support --internal: Calico networks are routed, " +
					"not isolated bridges; restrict traffic with a Calico profile or policy instead")
			}
		default:
			if isSet(v) {
				return fmt.Errorf("the calico driver does not support the network option %s (%v); remove it", k, v)
			}
		}
	}
	return nil
}

func (o *netOptions) parseGeneric(v any) error {
	if v == nil {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("option %s must be a map of --opt values, not %T", optGeneric, v)
	}
	var unknown []string
	for _, k := range sortedKeys(m) {
		if _, known := acceptedOpts[k]; !known {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("the calico driver does not know the option(s) %s; accepted --opt keys: %s",
			strings.Join(unknown, ", "), acceptedOptsHelp())
	}
	if p, ok := m[OptProfile]; ok {
		s, isString := p.(string)
		if !isString {
			return fmt.Errorf("--opt %s must be a string, not %v", OptProfile, p)
		}
		if err := ValidateProfileName(s); err != nil {
			return fmt.Errorf("--opt %s=%s: %w", OptProfile, s, err)
		}
		o.profile = s
	}
	if v, ok := m[OptNamespace]; ok {
		ns, err := parseNamespaceOpt(v) // namespace.go
		if err != nil {
			return err
		}
		o.namespace = ns
	}
	return nil
}

func acceptedOptsHelp() string {
	var parts []string
	for _, k := range sortedKeys(acceptedOpts) {
		parts = append(parts, fmt.Sprintf("%s=NAME (%s)", k, acceptedOpts[k]))
	}
	return strings.Join(parts, "; ")
}

// ipamPools checks that the pools came from calico-ipam and returns them.
// calico-ipam answers RequestPool with the gateway 0.0.0.0/0 (::/0), which
// Docker passes on here; any other IPAM driver yields a real gateway
// address, so a gateway with a non-zero prefix length means "not
// calico-ipam" (Calico's own plugin makes the same check).
func ipamPools(data []*network.IPAMData, v6 bool) ([]string, error) {
	fam := map[bool]string{false: "IPv4", true: "IPv6"}[v6]
	var pools []string
	for _, d := range data {
		if d == nil {
			return nil, fmt.Errorf("empty %s pool data in the request", fam)
		}
		gw, err := netip.ParsePrefix(d.Gateway)
		if err != nil || gw.Bits() != 0 {
			return nil, fmt.Errorf("the %s pool %s has the gateway %q: the calico driver needs the calico-ipam "+
				"IPAM driver, which reserves no gateway; create the network with --ipam-driver calico-ipam "+
				"and without --gateway", fam, d.Pool, d.Gateway)
		}
		p, err := netip.ParsePrefix(d.Pool)
		if err != nil {
			return nil, fmt.Errorf("the %s pool %q is not a CIDR", fam, d.Pool)
		}
		if p.Addr().Is6() != v6 && p.Bits() != 0 {
			return nil, fmt.Errorf("the %s pool %s is of the wrong address family", fam, d.Pool)
		}
		pools = append(pools, p.Masked().String())
	}
	return pools, nil
}

// ValidateProfileName checks that name can be a profile bound to a network:
// the profile gives its members the label <name> and admits traffic from
// has(<name>), so the name must also be a valid label key without prefix.
func ValidateProfileName(name string) error {
	if strings.Contains(name, "/") {
		return fmt.Errorf("profile name %q must not contain '/'", name)
	}
	if err := selector.ValidateKey(name); err != nil {
		return fmt.Errorf("profile name %q cannot be used: %w (it is also the label members get); "+
			"use 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", name, err)
	}
	return nil
}

func isSet(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case string:
		return t != ""
	case map[string]any:
		return len(t) > 0
	case []any:
		return len(t) > 0
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
