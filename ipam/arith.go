package ipam

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// maxBlockHostBits bounds the size of a block (IPv4 /20, IPv6 /116: 4096
// addresses), as the IPPool validation does; a stored block outside it is
// treated as corrupt rather than allocating a huge array.
const maxBlockHostBits = 12

// blockFor returns the block of the given prefix length containing ip.
func blockFor(ip netip.Addr, size int) netip.Prefix {
	p, err := ip.Unmap().Prefix(size)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}

// blockLen returns how many addresses block b holds.
func blockLen(b netip.Prefix) int {
	return 1 << (b.Addr().BitLen() - b.Bits())
}

// validBlock reports whether b is a masked prefix small enough to be a block.
func validBlock(b netip.Prefix) bool {
	return b.IsValid() && b == b.Masked() && b.Addr().BitLen()-b.Bits() <= maxBlockHostBits
}

// low64 returns the low 64 bits of an address (all 32 for IPv4).
func low64(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return uint64(binary.BigEndian.Uint32(b[:]))
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[8:])
}

// ordinal returns the index of ip inside block b, or -1 if b does not contain ip.
func ordinal(b netip.Prefix, ip netip.Addr) int {
	ip = ip.Unmap()
	if !b.Contains(ip) {
		return -1
	}
	// A block spans at most 2^12 addresses and is aligned, so the
	// difference lives in the low 64 bits.
	return int(low64(ip) - low64(b.Addr()))
}

// addrAt returns the ord-th address of block b (0 <= ord < blockLen(b)).
func addrAt(b netip.Prefix, ord int) netip.Addr {
	return addOffset(b.Addr(), uint64(ord))
}

// addOffset adds off to an address, carrying into the high half (IPv6).
func addOffset(a netip.Addr, off uint64) netip.Addr { return addOffset128(a, 0, off) }

// addOffset128 adds the 128-bit offset hi:lo to an address (IPv4 uses lo only).
func addOffset128(a netip.Addr, hi, lo uint64) netip.Addr {
	if a.Is4() {
		b := a.As4()
		v := binary.BigEndian.Uint32(b[:]) + uint32(lo)
		binary.BigEndian.PutUint32(b[:], v)
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	ahi, alo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	nlo := alo + lo
	nhi := ahi + hi
	if nlo < alo {
		nhi++
	}
	binary.BigEndian.PutUint64(b[:8], nhi)
	binary.BigEndian.PutUint64(b[8:], nlo)
	return netip.AddrFrom16(b)
}

// numBlocks returns how many blocks of the given size a pool holds,
// saturating at math.MaxUint64 for huge IPv6 pools.
func numBlocks(pool netip.Prefix, size int) uint64 {
	n := size - pool.Bits()
	if n < 0 {
		return 0
	}
	if n >= 64 {
		return math.MaxUint64
	}
	return 1 << n
}

// nthBlock returns the n-th block of the given size in pool (n < numBlocks).
func nthBlock(pool netip.Prefix, size int, n uint64) (netip.Prefix, bool) {
	if n >= numBlocks(pool, size) {
		return netip.Prefix{}, false
	}
	shift := uint(pool.Addr().BitLen() - size) // at most maxBlockHostBits
	var hi uint64
	if shift > 0 {
		hi = n >> (64 - shift)
	}
	return netip.PrefixFrom(addOffset128(pool.Masked().Addr(), hi, n<<shift), size), true
}

// family names an address family as it appears in keys ("ipv4"/"ipv6").
func family(a netip.Addr) string {
	if a.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

// cidrKey renders a prefix as a key segment, as Calico does: "10.0.0.0-26".
func cidrKey(p netip.Prefix) string {
	return p.Addr().String() + "-" + strconv.Itoa(p.Bits())
}

// parseCIDRKey is the inverse of cidrKey.
func parseCIDRKey(s string) (netip.Prefix, error) {
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return netip.Prefix{}, fmt.Errorf("block key segment %q: want ADDR-BITS", s)
	}
	a, err := netip.ParseAddr(s[:i])
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("block key segment %q: %w", s, err)
	}
	bits, err := strconv.Atoi(s[i+1:])
	if err != nil || bits < 0 || bits > a.BitLen() {
		return netip.Prefix{}, fmt.Errorf("block key segment %q: bad prefix length", s)
	}
	return netip.PrefixFrom(a, bits), nil
}
