package ipam

import (
	"bytes"
	"testing"
)

// FuzzDecodeBlock feeds stored block records (outside input: anything
// can be written to etcd) to decodeBlock. It must never panic; a block it
// accepts is self-consistent and survives an encode/decode round trip
// unchanged, and an allocation from it stays consistent.
func FuzzDecodeBlock(f *testing.F) {
	nb := newBlock(cidr("10.0.0.0/30"), "n1")
	nb.allocate(2, newAttribute("h", map[string]string{"node": "n1"}))
	good, _ := nb.encode()
	for _, s := range []string{
		string(good),
		`{"cidr":"10.0.0.0/30","affinity":null,"allocations":[null,null,null,null],"unallocated":[3,2,1,0],"attributes":[]}`,
		`{"cidr":"fd00::/126","affinity":"host:n2","allocations":[0,0,null,null],"unallocated":[2,3,3,9],"attributes":[{"handle_id":"x"}]}`,
		`{"cidr":"10.0.0.0/30","allocations":[5,null,null,null],"attributes":[]}`,
		`{"cidr":"10.0.0.0/8","allocations":[]}`,
		`{"cidr":"10.0.0.1/30"}`,
		`null`, `[]`, `{`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBlock(data)
		if err != nil {
			return
		}
		if len(b.alloc) != blockLen(b.cidr) {
			t.Fatalf("block %s has %d slots", b.cidr, len(b.alloc))
		}
		held := 0
		for ord := range b.alloc {
			if _, ok := b.holder(ord); ok {
				held++
			}
		}
		if held+b.freeCount() != len(b.alloc) {
			t.Fatalf("block %s: %d held + %d free != %d", b.cidr, held, b.freeCount(), len(b.alloc))
		}
		enc, err := b.clone().encode()
		if err != nil {
			return // e.g. attributes that do not re-encode
		}
		b2, err := decodeBlock(enc)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", enc, err)
		}
		enc2, err := b2.encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the block:\n%s\n%s (%v)", enc, enc2, err)
		}
		nb := b2.clone()
		got := nb.allocate(2, newAttribute("fuzz", nil))
		for _, o := range got {
			if h, ok := nb.holder(o); !ok || h.handle() != "fuzz" {
				t.Fatalf("allocated ordinal %d not held by the new handle", o)
			}
		}
	})
}
