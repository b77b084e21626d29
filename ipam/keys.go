package ipam

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"github.com/calico-docker/calico-libnetwork/datastore"
)

// Key layout (see the package documentation), under the prefixes package
// datastore reserves for IPAM.
const (
	assignmentPrefix = datastore.BlockPrefix
	hostPrefix       = datastore.AffinityPrefix
	handlePrefix     = datastore.HandlePrefix
)

// blockFamilyPrefix is the prefix of every block of a family ("ipv4"/"ipv6").
func blockFamilyPrefix(fam string) string { return assignmentPrefix + fam + "/block/" }

// blockKey is where the block record lives.
func blockKey(b netip.Prefix) string { return blockFamilyPrefix(family(b.Addr())) + cidrKey(b) }

// affinityPrefix lists the blocks a node holds affinity for in one family.
func affinityPrefix(node, fam string) string { return hostPrefix + node + "/" + fam + "/block/" }

// affinityKey records that node holds affinity for block b.
func affinityKey(node string, b netip.Prefix) string {
	return affinityPrefix(node, family(b.Addr())) + cidrKey(b)
}

// handleKeyPrefix lists the addresses recorded against a handle.
func handleKeyPrefix(handle string) string { return handlePrefix + handle + "/" }

// handleKey records that ip is allocated to handle.
func handleKey(handle string, ip netip.Addr) string { return handleKeyPrefix(handle) + ip.String() }

// parseHandleKey splits a handle key into handle and address.
func parseHandleKey(key string) (string, netip.Addr, bool) {
	rest, ok := strings.CutPrefix(key, handlePrefix)
	if !ok {
		return "", netip.Addr{}, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(rest[i+1:])
	if err != nil {
		return "", netip.Addr{}, false
	}
	return rest[:i], ip, true
}

// affinityValue is the value of an affinity key (Calico's format).
const affinityValue = `{"state":"confirmed","deleted":false}`

// maxIDLen bounds handles and node names.
const maxIDLen = 253

// checkID validates a handle or node name: it becomes one key segment, so
// it may not contain '/', whitespace or control characters.
func checkID(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty: give a non-empty name: %w", what, ErrInvalid)
	}
	if len(s) > maxIDLen {
		return fmt.Errorf("%s %.40q... is longer than %d bytes: %w", what, s, maxIDLen, ErrInvalid)
	}
	for _, r := range s {
		if r == '/' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%s %q contains %q: use letters, digits, '-', '_', '.' or ':': %w", what, s, r, ErrInvalid)
		}
	}
	return nil
}
