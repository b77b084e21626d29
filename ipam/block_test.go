package ipam

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestBlockAllocateReleaseOrder(t *testing.T) {
	b := newBlock(netip.MustParsePrefix("10.0.0.0/30"), "host1")
	got := b.allocate(3, newAttribute("h1", nil))
	if !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("allocate(3) = %v, want [0 1 2]", got)
	}
	if !b.release(1) || b.release(1) {
		t.Fatalf("release(1) twice: want true then false")
	}
	// The free list is FIFO: 3 (never used) before 1 (just freed).
	if got := b.allocate(2, newAttribute("h2", nil)); !slices.Equal(got, []int{3, 1}) {
		t.Fatalf("allocate(2) = %v, want [3 1]", got)
	}
	if got := b.allocate(1, newAttribute("h3", nil)); got != nil {
		t.Fatalf("allocate from a full block = %v, want nothing", got)
	}
	if b.assign(2, newAttribute("h4", nil)) {
		t.Fatal("assign of a taken ordinal succeeded")
	}
	b.release(2)
	if !b.assign(2, newAttribute("h4", nil)) {
		t.Fatal("assign of a free ordinal failed")
	}
	if h, ok := b.holder(2); !ok || h.handle() != "h4" {
		t.Fatalf("holder(2) = %v %v, want h4", h, ok)
	}
}

func TestBlockEncodeDecode(t *testing.T) {
	b := newBlock(netip.MustParsePrefix("10.0.0.64/26"), "host1")
	b.allocate(2, newAttribute("h1", map[string]string{"node": "host1"}))
	b.assign(10, newAttribute("h2", nil))
	b.release(0)
	data, err := b.encode()
	if err != nil {
		t.Fatal(err)
	}
	var rec blockRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.CIDR != "10.0.0.64/26" || rec.Affinity == nil || *rec.Affinity != "host:host1" || len(rec.Allocations) != 64 {
		t.Fatalf("record = %+v", rec)
	}
	if len(rec.Attributes) != 2 { // h1's attribute is still used by ordinal 1; compacted otherwise
		t.Fatalf("attributes = %+v, want 2", rec.Attributes)
	}
	back, err := decodeBlock(data)
	if err != nil {
		t.Fatal(err)
	}
	if back.cidr != b.cidr || back.affinity != "host1" || back.freeCount() != 62 {
		t.Fatalf("decoded %+v", back)
	}
	for ord, want := range map[int]string{1: "h1", 10: "h2"} {
		if h, ok := back.holder(ord); !ok || h.handle() != want {
			t.Errorf("holder(%d) = %v, want %s", ord, h, want)
		}
	}
	if _, ok := back.holder(0); ok {
		t.Error("released ordinal 0 is still held")
	}
	if !slices.Equal(back.free, b.free) {
		t.Errorf("free order not kept: %v vs %v", back.free, b.free)
	}
}

func TestDecodeBlockRejectsCorruption(t *testing.T) {
	valid := func() blockRecord {
		b := newBlock(netip.MustParsePrefix("10.0.0.0/30"), "h")
		b.allocate(1, newAttribute("x", nil))
		data, _ := b.encode()
		var r blockRecord
		_ = json.Unmarshal(data, &r)
		return r
	}
	seven := 7
	tests := map[string]func(r *blockRecord){
		"bad cidr":        func(r *blockRecord) { r.CIDR = "nope" },
		"host bits set":   func(r *blockRecord) { r.CIDR = "10.0.0.1/30" },
		"huge block":      func(r *blockRecord) { r.CIDR = "10.0.0.0/8" },
		"too few slots":   func(r *blockRecord) { r.Allocations = r.Allocations[:2] },
		"dangling attr":   func(r *blockRecord) { r.Allocations[1] = &seven },
		"negative attr":   func(r *blockRecord) { m := -1; r.Allocations[1] = &m },
		"attrs truncated": func(r *blockRecord) { r.Attributes = nil },
	}
	for name, mutate := range tests {
		r := valid()
		mutate(&r)
		data, _ := json.Marshal(r)
		if _, err := decodeBlock(data); err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("%s: decodeBlock = %v, want a corrupt-record error", name, err)
		}
	}
	if _, err := decodeBlock([]byte("{")); err == nil {
		t.Error("decodeBlock of malformed JSON succeeded")
	}
}

func TestDecodeBlockRepairsFreeList(t *testing.T) {
	zero := 0
	r := blockRecord{
		CIDR:        "10.0.0.0/30",
		Allocations: []*int{&zero, nil, nil, nil},
		Unallocated: []int{0, 3, 3, 9, -1}, // 0 is taken, 3 repeated, 9 and -1 out of range; 1 and 2 missing
		Attributes:  []attribute{newAttribute("x", nil)},
	}
	data, _ := json.Marshal(r)
	b, err := decodeBlock(data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.free, []int{3, 1, 2}) {
		t.Fatalf("free = %v, want [3 1 2]", b.free)
	}
}

func TestCloneIsIndependent(t *testing.T) {
	b := newBlock(netip.MustParsePrefix("fd00::/122"), "h")
	c := b.clone()
	c.allocate(5, newAttribute("x", nil))
	if b.freeCount() != 64 || c.freeCount() != 59 {
		t.Fatalf("clone shares state: %d %d", b.freeCount(), c.freeCount())
	}
	if got := c.allocations(); len(got) != 5 || got[0].IP != netip.MustParseAddr("fd00::") || got[0].Handle != "x" {
		t.Fatalf("allocations = %+v", got)
	}
}

// TestEncodeMatchesEncodingJSON: the hand-written encoder produces what
// encoding/json would for the same record.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	b := newBlock(netip.MustParsePrefix("fd00::40/122"), `node"with\quotes`)
	b.allocate(3, newAttribute("h1", map[string]string{"node": "n", "weird": "<&>\u2028\x01"}))
	b.assign(40, newAttribute("h2", nil))
	b.release(1)
	got, err := b.encode()
	if err != nil {
		t.Fatal(err)
	}
	rec := blockRecord{CIDR: b.cidr.String(), Unallocated: b.free, Attributes: b.attrs, Allocations: make([]*int, len(b.alloc))}
	aff := affinityHostPrefix + b.affinity
	rec.Affinity = &aff
	for i, a := range b.alloc {
		if a >= 0 {
			v := int(a)
			rec.Allocations[i] = &v
		}
	}
	want, _ := json.Marshal(rec)
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("encode produced invalid JSON: %v\n%s", err, got)
	}
	_ = json.Unmarshal(want, &w)
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if string(gj) != string(wj) {
		t.Fatalf("encode = %s\nwant     %s", gj, wj)
	}
	back, err := decodeBlock(got)
	if err != nil || back.affinity != b.affinity {
		t.Fatalf("decode: %v %q", err, back.affinity)
	}
	unaffine := newBlock(netip.MustParsePrefix("10.0.0.0/30"), "")
	if got, _ := unaffine.encode(); !strings.Contains(string(got), `"affinity":null`) {
		t.Fatalf("unaffine block = %s", got)
	}
}
