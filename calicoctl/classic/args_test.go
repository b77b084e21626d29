package classic

import (
	"slices"
	"strings"
	"testing"
)

func TestClassicArgs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"profile P member add C", "profile member add P C"},
		{"profile P rule show -o json", "profile rule show P -o json"},
		{"profile P rule update", "profile rule update P"},
		{"--etcd-endpoints http://x:1 -c f profile P rule json", "--etcd-endpoints http://x:1 -c f profile rule json P"},
		{"--config=f profile P member add C", "--config=f profile member add P C"},
		{"profile show --detailed", "profile show --detailed"},
		{"profile member add P C", "profile member add P C"},
		{"profile P tag show", "profile tag show P"},
		{"profile P tag add T", "profile tag add P T"},
		{"profile P rule add inbound --at 1 allow", "profile rule add P inbound --at 1 allow"},
		{"profile P rule", "profile rule P"},
		{"pool show", "pool show"},
	}
	for _, tc := range tests {
		if got := strings.Join(Args(strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("classicArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzClassicArgs: the rewrite never panics, keeps every argument, and
// leaves anything that is not the classic profile form alone.
func FuzzClassicArgs(f *testing.F) {
	f.Add("profile P member add C")
	f.Add("--etcd-endpoints x profile P rule show -o json")
	f.Add("-c")
	f.Fuzz(func(t *testing.T, s string) {
		in := strings.Fields(s)
		out := Args(in)
		if len(out) != len(in) {
			t.Fatalf("%q -> %q", in, out)
		}
		a, b := slices.Clone(in), slices.Clone(out)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Fatalf("%q -> %q changed the arguments", in, out)
		}
	})
}
