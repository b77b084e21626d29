package resources

import (
	"strconv"
	"strings"
	"testing"
)

// TestASNumberNotations: an AS number is taken as Calico takes it, a
// number or a string in plain or dotted notation, everywhere one is
// written, and is written back as a number.
func TestASNumberNotations(t *testing.T) {
	cases := []struct {
		doc  string
		want ASNumber
	}{
		{"kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: 64513}\n", 64513},
		{"kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: \"64513\"}\n", 64513},
		{"kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: \"1.10\"}\n", 65546},
		{"kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: \"65535.65535\"}\n", 4294967295},
	}
	for _, tc := range cases {
		objs, err := DecodeBytes([]byte(hdr + tc.doc))
		if err != nil {
			t.Fatalf("%s: %v", tc.doc, err)
		}
		p := objs[0].(*BGPPeer)
		if p.Spec.ASNumber != tc.want {
			t.Fatalf("%s: AS %d, want %d", tc.doc, p.Spec.ASNumber, tc.want)
		}
		out, err := EncodeJSON(p)
		if err != nil || !strings.Contains(string(out), `"asNumber": `+tc.want.String()) {
			t.Fatalf("%s: written back as %s (%v), want the number %d", tc.doc, out, err, tc.want)
		}
	}
	// Every other field of AS numbers takes the same notations.
	doc := `kind: BGPConfiguration
metadata: {name: default}
spec: {asNumber: "2.1"}
---
kind: Node
metadata: {name: host1}
spec: {bgp: {ipv4Address: 10.0.0.1/24, asNumber: "3.1"}}
---
kind: BGPFilter
metadata: {name: f}
spec:
  exportV4:
  - {action: Accept, asPathPrefix: ["4.1", 5], operations: [{prependASPath: {prefix: ["6.1"]}}]}
`
	objs, err := DecodeBytes([]byte(hdr + strings.ReplaceAll(doc, "---\n", "---\n"+hdr)))
	if err != nil {
		t.Fatal(err)
	}
	r := objs[2].(*BGPFilter).Spec.ExportV4[0]
	got := []ASNumber{*objs[0].(*BGPConfiguration).Spec.ASNumber, *objs[1].(*Node).Spec.BGP.ASNumber,
		r.ASPathPrefix[0], r.ASPathPrefix[1], r.Operations[0].PrependASPath.Prefix[0]}
	for i, want := range []ASNumber{2<<16 | 1, 3<<16 | 1, 4<<16 | 1, 5, 6<<16 | 1} {
		if got[i] != want {
			t.Fatalf("AS %d: %d, want %d", i, got[i], want)
		}
	}
}

// TestASNumberRefusals: a value that is no AS number is refused with the
// field and, unless it is a zero, both notations.
func TestASNumberRefusals(t *testing.T) {
	for _, v := range []string{"1.10", `"65536.1"`, `"1.65536"`, "4294967296", `"x"`, `"1.2.3"`, "-1", `""`, "0", `"0.0"`} {
		doc := hdr + "kind: BGPPeer\nmetadata: {name: p}\nspec: {peerIP: 10.0.0.1, asNumber: " + v + "}\n"
		objs, err := DecodeBytes([]byte(doc))
		if err == nil {
			err = objs[0].Validate() // 0 decodes, as unset
		}
		if err == nil {
			t.Fatalf("asNumber: %s accepted as %d", v, objs[0].(*BGPPeer).Spec.ASNumber)
		}
		msg := err.Error()
		if !strings.Contains(msg, `BGPPeer "p": spec.asNumber`) {
			t.Fatalf("asNumber: %s: error %q does not name the field", v, msg)
		}
		if v != "0" && v != `"0.0"` && !strings.Contains(msg, `"65000.100"`) {
			t.Fatalf("asNumber: %s: error %q does not show the dotted form", v, msg)
		}
	}
}

// FuzzParseASNumber: any text is refused, or is a plain number that
// prints back as itself, or HIGH.LOW with HIGH×65536+LOW its value.
func FuzzParseASNumber(f *testing.F) {
	for _, s := range []string{"64512", "1.10", "65535.65535", "65536.0", "4294967296", "1.", ".1", "+1", "01.2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseASNumber(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("%q: error %q does not quote the input", s, err)
			}
			return
		}
		hi, lo, dotted := strings.Cut(s, ".")
		if !dotted {
			if n, _ := strconv.ParseUint(s, 10, 64); n != uint64(a) {
				t.Fatalf("%q read as %d", s, a)
			}
			return
		}
		h, _ := strconv.ParseUint(hi, 10, 64)
		l, _ := strconv.ParseUint(lo, 10, 64)
		if h > 65535 || l > 65535 || uint64(a) != h<<16|l {
			t.Fatalf("%q read as %d", s, a)
		}
	})
}
