package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// IPAM attribute names the consumers read (Calico's).
const (
	AttrNode      = "node"      // the node an address was allocated for
	AttrTimestamp = "timestamp" // RFC 3339 allocation time
)

// maxBlockHostBits bounds a block's size (4096 addresses), as package ipam.
const maxBlockHostBits = 12

// Block is the decoded form of one IPAM allocation block: what routing
// (exports, borrowed /32s, VXLAN routes), felix (this node's blackholes)
// and the IPAM GC need. Shared and immutable once decoded.
type Block struct {
	CIDR     netip.Prefix
	Affinity string // node holding affinity; "" when none
	Size     int    // addresses in the block
	// Allocations are the allocated addresses, sorted by address.
	Allocations []Allocation
}

// Free is the number of unallocated addresses.
func (b *Block) Free() int { return b.Size - len(b.Allocations) }

// Allocation is one allocated address with its owner.
type Allocation struct {
	IP     netip.Addr
	Handle string
	Attrs  map[string]string // shared between the addresses of one attribute entry
}

// Node is the node the address was allocated for: its node attribute,
// else the block's affinity.
func (a Allocation) Node(b *Block) string {
	if n, ok := a.Attrs[AttrNode]; ok {
		return n
	}
	return b.Affinity
}

// Affinity records that Node holds affinity for the block CIDR.
type Affinity struct {
	Node  string
	CIDR  netip.Prefix
	State string // "confirmed", "pending" or "pendingDeletion" (Calico's)
}

// storedBlock is a block as stored in etcd (Calico's AllocationBlock).
type storedBlock struct {
	CIDR        string  `json:"cidr"`
	Affinity    *string `json:"affinity"`
	Allocations []*int  `json:"allocations"`
	Attributes  []struct {
		HandleID  *string           `json:"handle_id"`
		Secondary map[string]string `json:"secondary"`
	} `json:"attributes"`
}

// DecodeBlock parses a stored block (Calico's JSON). Errors name the
// block and what is wrong.
func DecodeBlock(data []byte) (*Block, error) {
	var r storedBlock
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode IPAM block: %w", err)
	}
	cidr, err := netip.ParsePrefix(r.CIDR)
	if err != nil || cidr != cidr.Masked() || cidr.Addr().BitLen()-cidr.Bits() > maxBlockHostBits {
		return nil, fmt.Errorf("decode IPAM block: cidr %q is not a valid block", r.CIDR)
	}
	size := 1 << (cidr.Addr().BitLen() - cidr.Bits())
	if len(r.Allocations) != size {
		return nil, fmt.Errorf("decode IPAM block %s: %d allocation slots, want %d", cidr, len(r.Allocations), size)
	}
	b := &Block{CIDR: cidr, Size: size}
	if r.Affinity != nil {
		b.Affinity = strings.TrimPrefix(*r.Affinity, "host:")
	}
	n := 0
	for _, a := range r.Allocations {
		if a != nil {
			n++
		}
	}
	b.Allocations = make([]Allocation, 0, n)
	for o, a := range r.Allocations {
		if a == nil {
			continue
		}
		if *a < 0 || *a >= len(r.Attributes) {
			return nil, fmt.Errorf("decode IPAM block %s: slot %d refers to attribute %d of %d", cidr, o, *a, len(r.Attributes))
		}
		at := r.Attributes[*a]
		al := Allocation{IP: addrAt(cidr, o), Attrs: at.Secondary}
		if at.HandleID != nil {
			al.Handle = *at.HandleID
		}
		b.Allocations = append(b.Allocations, al)
	}
	return b, nil
}

// addrAt is the address at ordinal o of block b (o < 4096).
func addrAt(b netip.Prefix, o int) netip.Addr {
	if b.Addr().Is4() {
		a := b.Addr().As4()
		binary.BigEndian.PutUint32(a[:], binary.BigEndian.Uint32(a[:])+uint32(o))
		return netip.AddrFrom4(a)
	}
	a := b.Addr().As16()
	lo := binary.BigEndian.Uint64(a[8:]) + uint64(o)
	if lo < uint64(o) { // carry (a block never straddles, but be exact)
		binary.BigEndian.PutUint64(a[:8], binary.BigEndian.Uint64(a[:8])+1)
	}
	binary.BigEndian.PutUint64(a[8:], lo)
	return netip.AddrFrom16(a)
}

// DecodeAffinity parses a stored affinity value for node and cidr (both
// from its key). An empty or unreadable value counts as confirmed, as
// package ipam writes it.
func DecodeAffinity(node string, cidr netip.Prefix, data []byte) *Affinity {
	var v struct {
		State string `json:"state"`
	}
	if json.Unmarshal(data, &v) != nil || v.State == "" {
		v.State = "confirmed"
	}
	return &Affinity{Node: node, CIDR: cidr, State: v.State}
}
