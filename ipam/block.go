package ipam

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"strings"
)

// attribute is what is recorded for an allocation (Calico's
// AllocationAttribute): the owning handle and free-form attributes
// (node, timestamp, anything the caller adds).
type attribute struct {
	HandleID  *string           `json:"handle_id,omitempty"`
	Secondary map[string]string `json:"secondary,omitempty"`

	raw []byte // cached JSON encoding; attributes are never mutated
}

// json returns the attribute's JSON encoding, computed once.
func (a *attribute) json() ([]byte, error) {
	if a.raw == nil {
		raw, err := json.Marshal(a)
		if err != nil {
			return nil, err
		}
		a.raw = raw
	}
	return a.raw, nil
}

func (a attribute) handle() string {
	if a.HandleID == nil {
		return ""
	}
	return *a.HandleID
}

func newAttribute(handle string, attrs map[string]string) attribute {
	h := handle
	return attribute{HandleID: &h, Secondary: attrs}
}

// blockRecord is a block as stored in etcd (Calico's AllocationBlock).
type blockRecord struct {
	CIDR           string      `json:"cidr"`
	Affinity       *string     `json:"affinity"`
	StrictAffinity bool        `json:"strictAffinity"`
	Allocations    []*int      `json:"allocations"`
	Unallocated    []int       `json:"unallocated"`
	Attributes     []attribute `json:"attributes"`
	Deleted        bool        `json:"deleted"`
}

const affinityHostPrefix = "host:"

// block is the in-memory form of a block. Values are treated as
// immutable once cached: writers clone, modify and compare-and-swap.
type block struct {
	cidr     netip.Prefix
	affinity string      // node holding affinity; "" when none
	alloc    []int32     // per ordinal: -1 when free, else an index into attrs
	free     []int       // free ordinals in allocation order (oldest-freed first)
	attrs    []attribute // referenced by alloc
	garbage  bool        // attrs may hold unreferenced entries (see compact)
}

// newBlock returns an empty block with affinity to node.
func newBlock(cidr netip.Prefix, node string) *block {
	n := blockLen(cidr)
	b := &block{cidr: cidr, affinity: node, alloc: make([]int32, n), free: make([]int, n)}
	for i := range n {
		b.alloc[i] = -1
		b.free[i] = i
	}
	return b
}

// decodeBlock parses a stored block and checks it is self-consistent,
// rebuilding the free list from the allocations if it disagrees.
func decodeBlock(data []byte) (*block, error) {
	var r blockRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	cidr, err := netip.ParsePrefix(r.CIDR)
	if err != nil || !validBlock(cidr) {
		return nil, fmt.Errorf("%w: block cidr %q is not a valid block", ErrCorrupt, r.CIDR)
	}
	n := blockLen(cidr)
	if len(r.Allocations) != n {
		return nil, fmt.Errorf("%w: block %s has %d allocation slots, want %d", ErrCorrupt, cidr, len(r.Allocations), n)
	}
	b := &block{cidr: cidr, alloc: make([]int32, n), attrs: r.Attributes, garbage: true}
	if r.Affinity != nil {
		b.affinity = strings.TrimPrefix(*r.Affinity, affinityHostPrefix)
	}
	for i, a := range r.Allocations {
		switch {
		case a == nil:
			b.alloc[i] = -1
		case *a < 0 || *a >= len(r.Attributes):
			return nil, fmt.Errorf("%w: block %s slot %d refers to attribute %d of %d", ErrCorrupt, cidr, i, *a, len(r.Attributes))
		default:
			b.alloc[i] = int32(*a)
		}
	}
	b.free = normalizeFree(b.alloc, r.Unallocated)
	return b, nil
}

// normalizeFree keeps the stored order of free ordinals, dropping entries
// that are not free (or repeated) and appending free ones it missed.
func normalizeFree(alloc []int32, stored []int) []int {
	seen := make([]bool, len(alloc))
	free := make([]int, 0, len(stored))
	for _, o := range stored {
		if o >= 0 && o < len(alloc) && alloc[o] < 0 && !seen[o] {
			seen[o] = true
			free = append(free, o)
		}
	}
	for o, a := range alloc {
		if a < 0 && !seen[o] {
			free = append(free, o)
		}
	}
	return free
}

// encode renders the block in Calico's format, dropping unreferenced
// attributes. It writes the JSON by hand: encoding/json took most of an
// allocation's CPU time on a half-full block.
func (b *block) encode() ([]byte, error) {
	b.compact()
	buf := make([]byte, 0, 256+len(b.alloc)*8+len(b.attrs)*128)
	buf = append(buf, `{"cidr":"`...)
	buf = b.cidr.AppendTo(buf)
	buf = append(buf, `","affinity":`...)
	if b.affinity == "" {
		buf = append(buf, "null"...)
	} else {
		q, err := json.Marshal(affinityHostPrefix + b.affinity)
		if err != nil {
			return nil, err
		}
		buf = append(buf, q...)
	}
	buf = append(buf, `,"strictAffinity":false,"allocations":[`...)
	for i, a := range b.alloc {
		if i > 0 {
			buf = append(buf, ',')
		}
		if a < 0 {
			buf = append(buf, "null"...)
		} else {
			buf = strconv.AppendInt(buf, int64(a), 10)
		}
	}
	buf = append(buf, `],"unallocated":[`...)
	for i, o := range b.free {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(o), 10)
	}
	buf = append(buf, `],"attributes":[`...)
	for i := range b.attrs {
		if i > 0 {
			buf = append(buf, ',')
		}
		raw, err := b.attrs[i].json()
		if err != nil {
			return nil, err
		}
		buf = append(buf, raw...)
	}
	return append(buf, `],"deleted":false}`...), nil
}

// clone returns a deep enough copy to modify (attributes are never mutated in place).
func (b *block) clone() *block {
	c := *b
	c.alloc = append([]int32(nil), b.alloc...)
	c.free = append([]int(nil), b.free...)
	c.attrs = append([]attribute(nil), b.attrs...)
	return &c
}

// compact drops attributes no slot refers to and renumbers the rest.
func (b *block) compact() {
	if !b.garbage {
		return
	}
	b.garbage = false
	remap := make([]int32, len(b.attrs))
	for i := range remap {
		remap[i] = -1
	}
	var kept []attribute
	for i, a := range b.alloc {
		if a < 0 {
			continue
		}
		if remap[a] < 0 {
			remap[a] = int32(len(kept))
			kept = append(kept, b.attrs[a])
		}
		b.alloc[i] = remap[a]
	}
	b.attrs = kept
}

func (b *block) freeCount() int { return len(b.free) }

// holder returns the attribute of an allocated ordinal.
func (b *block) holder(ord int) (attribute, bool) {
	if ord < 0 || ord >= len(b.alloc) || b.alloc[ord] < 0 {
		return attribute{}, false
	}
	return b.attrs[b.alloc[ord]], true
}

// addAttr appends an attribute and returns its index.
func (b *block) addAttr(a attribute) int32 {
	b.attrs = append(b.attrs, a)
	return int32(len(b.attrs) - 1)
}

// allocate takes up to n free ordinals, oldest-freed first.
func (b *block) allocate(n int, a attribute) []int { return b.allocateSkipping(n, a, nil) }

// allocateSkipping is allocate passing over the ordinals skip reports
// (reserved addresses; nil: none), which stay free.
func (b *block) allocateSkipping(n int, a attribute, skip func(ord int) bool) []int {
	var ords []int
	if skip == nil {
		n = min(n, len(b.free))
		ords = append([]int(nil), b.free[:n]...)
		b.free = b.free[n:]
	} else {
		rest := make([]int, 0, len(b.free))
		for _, o := range b.free {
			if len(ords) < n && !skip(o) {
				ords = append(ords, o)
			} else {
				rest = append(rest, o)
			}
		}
		b.free = rest
	}
	if len(ords) == 0 {
		return nil
	}
	idx := b.addAttr(a)
	for _, o := range ords {
		b.alloc[o] = idx
	}
	return ords
}

// assign takes a specific ordinal; false if it is not free.
func (b *block) assign(ord int, a attribute) bool {
	if ord < 0 || ord >= len(b.alloc) || b.alloc[ord] >= 0 {
		return false
	}
	for i, o := range b.free {
		if o == ord {
			b.free = append(b.free[:i:i], b.free[i+1:]...)
			break
		}
	}
	b.alloc[ord] = b.addAttr(a)
	return true
}

// release frees an ordinal; false if it was not allocated.
func (b *block) release(ord int) bool {
	if ord < 0 || ord >= len(b.alloc) || b.alloc[ord] < 0 {
		return false
	}
	b.alloc[ord] = -1
	b.free = append(b.free, ord)
	b.garbage = true
	return true
}

// setAttr replaces the attribute of an allocated ordinal.
func (b *block) setAttr(ord int, a attribute) bool {
	if ord < 0 || ord >= len(b.alloc) || b.alloc[ord] < 0 {
		return false
	}
	b.alloc[ord] = b.addAttr(a)
	b.garbage = true
	return true
}

// allocations lists the allocated addresses with their attributes.
func (b *block) allocations() []Allocation {
	var out []Allocation
	for o, a := range b.alloc {
		if a >= 0 {
			at := b.attrs[a]
			out = append(out, Allocation{IP: addrAt(b.cidr, o), Handle: at.handle(), Attrs: maps.Clone(at.Secondary)})
		}
	}
	return out
}
