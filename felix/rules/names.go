package rules

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Chain names and mark bits.
const (
	ChainForward      = "cali-FORWARD"
	ChainInput        = "cali-INPUT"
	ChainOutput       = "cali-OUTPUT"
	ChainFromDispatch = "cali-from-wl-dispatch"
	ChainToDispatch   = "cali-to-wl-dispatch"

	MarkAccept = 0x10000
	MarkPass   = 0x20000
	markMask   = MarkAccept | MarkPass

	// IfacePrefix is the host-side name prefix of workload interfaces.
	IfacePrefix = "cali"
)

// maxChain is iptables' limit on chain name length.
const maxChain = 28

func hashName(prefix, id string) string {
	sum := sha256.Sum256([]byte(id))
	h := base64.RawURLEncoding.EncodeToString(sum[:])
	return prefix + h[:maxChain-len(prefix)]
}

// The name prefixes of policy and profile chains, by direction.
const (
	policyInPrefix   = "cali-pi-"
	policyOutPrefix  = "cali-po-"
	profileInPrefix  = "cali-pri-"
	profileOutPrefix = "cali-pro-"
)

// PolicyChain names the chain of one policy and direction.
func PolicyChain(policyKey string, ingress bool) string {
	if ingress {
		return hashName(policyInPrefix, policyKey)
	}
	return hashName(policyOutPrefix, policyKey)
}

// ProfileChain names the chain of one profile and direction.
func ProfileChain(profile string, ingress bool) string {
	if ingress {
		return hashName(profileInPrefix, profile)
	}
	return hashName(profileOutPrefix, profile)
}

// IsRuleChain reports whether a chain holds the rules of a policy or a
// profile: what users wrote, as opposed to the plumbing around it.
func IsRuleChain(name string) bool {
	for _, p := range []string{policyInPrefix, policyOutPrefix, profileInPrefix, profileOutPrefix} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func groupChain(sig string, ingress bool) string {
	if ingress {
		return hashName("cali-gi-", sig)
	}
	return hashName("cali-ge-", sig)
}

// EndpointChain names the per-endpoint chain (fw = from workload, tw = to).
func EndpointChain(iface string, fromWorkload bool) string {
	if fromWorkload {
		return "cali-fw-" + iface
	}
	return "cali-tw-" + iface
}

// IPSetName names the IP set of a selector (by its UniqueID) for a family.
// ipset names are at most 31 characters.
func IPSetName(selectorID string, ipVersion int) string {
	prefix := "cali40s:"
	if ipVersion == 6 {
		prefix = "cali60s:"
	}
	id := strings.NewReplacer("-", "_").Replace(selectorID)
	return prefix + id[:min(len(id), 31-len(prefix))]
}

// AnyOrderChains are the chains whose rules but the last may run in any
// order (iptables.TableConfig.AnyOrder): the dispatch chains, one rule per
// interface (two endpoints on one interface get the same rule) before the
// drop.
var AnyOrderChains = []string{ChainFromDispatch, ChainToDispatch}
