package memberurl

import (
	"slices"
	"testing"
)

func TestReachable(t *testing.T) {
	for _, tc := range []struct {
		name         string
		client, peer []string
		want         []string
	}{
		{"first host moved off loopback", []string{"https://127.0.0.1:2379"}, []string{"https://10.0.0.1:2380"}, []string{"https://10.0.0.1:2379"}},
		{"already reachable", []string{"https://10.0.0.2:2379"}, []string{"https://10.0.0.2:2380"}, []string{"https://10.0.0.2:2379"}},
		{"localhost", []string{"https://localhost:2379", "https://10.0.0.1:2379"}, []string{"https://10.0.0.1:2380"},
			[]string{"https://10.0.0.1:2379", "https://10.0.0.1:2379"}},
		{"single member on loopback", []string{"http://127.0.0.1:2379"}, []string{"http://127.0.0.1:2380"}, []string{"http://127.0.0.1:2379"}},
		{"no peer URL", []string{"https://127.0.0.1:2379"}, nil, []string{"https://127.0.0.1:2379"}},
		{"IPv6 peer", []string{"https://[::1]:2379"}, []string{"https://[fd00::1]:2380"}, []string{"https://[fd00::1]:2379"}},
	} {
		if got := Reachable(tc.client, tc.peer); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Reachable(%v, %v) = %v, want %v", tc.name, tc.client, tc.peer, got, tc.want)
		}
	}
}
