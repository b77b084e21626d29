package ipsets

import (
	"slices"
	"strings"
	"testing"
)

// sampleList is `ipset list` output from ipset v7.17 (kernel 6.18), with a
// foreign set of another type between ours.
const sampleList = `Name: cali40s:a
Type: hash:net
Revision: 7
Header: family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x2a0377c8
Size in memory: 552
References: 2
Number of entries: 3
Members:
10.0.0.1
10.1.0.0/16 nomatch
bogus

Name: foo
Type: hash:ip,port
Revision: 6
Header: family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x55d1c532
Size in memory: 216
References: 0
Number of entries: 1
Members:
192.0.2.1,tcp:80

Name: cali40s:b
Type: hash:net
Revision: 7
Header: family inet6 hashsize 1024 maxelem 65536 counters comment bucketsize 12 initval 0x36da1783
Size in memory: 456
References: 0
Number of entries: 1
Members:
2001:db8::/64 packets 0 bytes 0 comment "x y"
`

func TestParseList(t *testing.T) {
	ours := func(name string) bool { return strings.HasPrefix(name, "cali40") }
	sets, err := parseList([]byte(sampleList), ours)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 3 {
		t.Fatalf("parsed %d sets, want 3", len(sets))
	}
	a := sets["cali40s:a"]
	if a.typ != "hash:net" || a.family != "inet" || a.maxElem != 1048576 || len(a.extras) != 0 || a.refs != 2 {
		t.Errorf("cali40s:a header parsed as %+v", a)
	}
	if got := members(a); !slices.Equal(got, []string{"10.0.0.1", "10.1.0.0/16"}) {
		t.Errorf("cali40s:a members %q", got)
	}
	if exact := a.members[prefixes("10.1.0.0/16")[0]]; exact {
		t.Error("nomatch member parsed as exact")
	}
	if !slices.Equal(a.junk, []string{"bogus"}) {
		t.Errorf("junk %q", a.junk)
	}
	if foo := sets["foo"]; foo.typ != "hash:ip,port" || foo.members != nil {
		t.Errorf("foreign set parsed as %+v; its members must not be", foo)
	}
	b := sets["cali40s:b"]
	if b.family != "inet6" || !slices.Equal(b.extras, []string{"counters", "comment"}) || len(b.members) != 1 {
		t.Errorf("cali40s:b parsed as %+v", b)
	}
}

func TestParseListTerse(t *testing.T) {
	terse := "Name: x\nType: list:set\nRevision: 3\nHeader: size 8\nSize in memory: 80\nReferences: 1\n" +
		"Number of entries: 0\n\nName: y\nType: bitmap:port\nRevision: 3\nHeader: range 0-100\n" +
		"Size in memory: 80\nReferences: 0\nNumber of entries: 0\n"
	sets, err := parseList([]byte(terse), func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if sets["x"].refs != 1 || sets["y"].typ != "bitmap:port" || sets["y"].members != nil {
		t.Errorf("parsed %+v %+v", sets["x"], sets["y"])
	}
}

func TestParseListRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"Type: hash:net\n",                       // header outside a set
		"Name: a\nReferences: many\n",            // not a number
		"Name: a\nsomething odd\n",               // not a header
		"Name: a\n\nName: a\n",                   // duplicate
		"Name: a\nHeader: family inet maxelem\n", // option without value
	} {
		if _, err := parseList([]byte(in), func(string) bool { return true }); err == nil {
			t.Errorf("parseList(%q) accepted", in)
		}
	}
}

func FuzzParseList(f *testing.F) {
	f.Add([]byte(sampleList))
	f.Add([]byte("Name: a\nHeader:\nMembers:\n::/0\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		sets, err := parseList(in, func(name string) bool { return strings.HasPrefix(name, "cali") })
		if err != nil {
			return
		}
		for name, s := range sets {
			if name == "" || s.name != name {
				t.Fatalf("set %q recorded as %q", name, s.name)
			}
			for p := range s.members {
				// Whatever we parse must render to something that parses back.
				if q, err := parseMember(formatMember(p)); err != nil || q != p {
					t.Fatalf("member %v round-trips to %v, %v", p, q, err)
				}
			}
		}
	})
}
