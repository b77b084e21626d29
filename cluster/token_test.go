package cluster

import (
	"strings"
	"testing"
)

func TestTokenRoundTrip(t *testing.T) {
	tok, err := NewToken(strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseToken("  " + tok.String() + "\n")
	if err != nil || got != tok {
		t.Fatalf("ParseToken(%q) = %+v, %v", tok.String(), got, err)
	}
	if !secretMatches(tok.Secret, tok.SecretHash()) || secretMatches(tok.Secret+"0", tok.SecretHash()) {
		t.Fatal("secret hash comparison")
	}
}

func TestParseTokenErrors(t *testing.T) {
	good, _ := NewToken(strings.Repeat("ab", 32))
	parts := strings.Split(good.String(), "-")
	for _, tc := range []struct{ in, want string }{
		{"", "is not of the form"},
		{"SWMTKN-1-abc-def", "is not of the form"},
		{strings.Join([]string{parts[0], "xyz", parts[2], parts[3]}, "-"), "id"},
		{strings.Join([]string{parts[0], parts[1], parts[2][:10], parts[3]}, "-"), "secret"},
		{strings.Join([]string{parts[0], parts[1], parts[2], "zz"}, "-"), "CA hash"},
	} {
		_, err := ParseToken(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseToken(%q) = %v, want an error naming %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), parts[2]) {
			t.Errorf("error %q shows the whole secret", err)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	good, _ := NewToken(strings.Repeat("ab", 32))
	f.Add(good.String())
	f.Add("CALICOJOIN1-----")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			return
		}
		again, err := ParseToken(tok.String())
		if err != nil || again != tok {
			t.Fatalf("%q parsed to %+v, which does not round-trip: %v", s, tok, err)
		}
	})
}
